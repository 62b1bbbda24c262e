"""Kafka for both services, each concern once: clients.py builds every producer, consumer and
admin client (the one place their connection settings are made), topics.py names and creates the
topics with their configs, partitioning.py says which partition holds a key, names.py spells the
worker's groups, changelogs, app id and stores, topic_reader.py and metadata.py read bounded
slices and partition lists, deletion.py deletes topics until the broker no longer lists them, and
epoch.py keeps the store epoch reset and promote start. Keep this file free of imports."""
