"""Placeholder replaced by the broker fixtures."""
