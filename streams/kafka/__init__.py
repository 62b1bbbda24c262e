"""Kafka plumbing shared by the jobs: the names hooklog gives its groups, changelogs, app id and
stores (names.py, the one place they are spelled), and bounded topic reads (topic_reader.py)."""
