"""hooklog's stream side, one sub-package per job: worker/ (the Faust app and its fold), api/ (its
query views), console/ (the operator pages), replay/, ops/ (verify, reset, promote, redrive) and
kafka/ (Faust's seam). The command line is hooklog/cli, the shared Kafka plumbing floor/kafka.
Keep this file free of imports."""
