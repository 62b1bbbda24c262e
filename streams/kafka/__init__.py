"""The worker's Kafka: the seam to faust-streaming's private parts (seam/: nothing else touches
them; it also re-exports floor/seam's aiokafka items and pins, so the worker imports one seam).
Topic names, reads, the epoch and the client builder are both services' and live in floor/kafka."""
