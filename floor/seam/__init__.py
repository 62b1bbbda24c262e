"""The one seam's floor: pins.py (the version table and `relies_on`, the one record of every
library private part hooklog relies on, checked by tests/streams/kafka/test_seam.py) and the
aiokafka items both services need: aiokafka_producer.py (ingest's direct append),
aiokafka_consumer.py (a stop that never hangs), aiokafka_coordinator.py (when the group
coordinator last answered), aiokafka_admin.py (deleting a consumer group).
Faust's items are the worker's alone and live in streams/kafka/seam/. Keep this file free of
imports."""
