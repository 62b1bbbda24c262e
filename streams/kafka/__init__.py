"""Kafka plumbing shared by the jobs: the names hooklog gives its groups, changelogs, app id and
stores (names.py, the one place they are spelled), bounded topic reads (topic_reader.py), and
deleting topics until the broker no longer lists them (deletion.py)."""
