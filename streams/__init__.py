"""hooklog's stream side, one sub-package per job: worker/ (the Faust app and its fold), api/ (its
query views), replay/, ops/ (verify, reset, promote, redrive), kafka/ (names, topic reads), cli/
(the `hooklog` command line) and dev/ (local broker, simulator). Keep this file free of imports."""
