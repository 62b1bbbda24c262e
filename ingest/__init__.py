"""The HTTP gateway: verify, wrap, produce with acks=all, answer only after the broker acked."""
