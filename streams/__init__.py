"""The faust-streaming worker, its query API and the `hooklog` command line."""
