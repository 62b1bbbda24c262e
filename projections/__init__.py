"""Pure folds `(state, event) -> (state, alerts)`: no Kafka, no Faust, no I/O."""
