"""Kafka plumbing shared by the jobs: the names hooklog gives its groups, changelogs, app id and
stores (names.py, the one place they are spelled), bounded topic reads (topic_reader.py), a
topic's partitions from the cluster (metadata.py), deleting topics until the broker no longer
lists them (deletion.py), the store epoch reset and promote start (epoch.py), and the one seam
to faust-streaming's and aiokafka's private parts (seam/: nothing else touches them)."""
