"""aiokafka's admin client: deleting a consumer group (aiokafka 0.14 has no public call for it)."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import DeleteGroupsRequest

from floor.seam.pins import relies_on


@relies_on(("aiokafka.admin.client:AIOKafkaAdminClient._send_request", "1ed126f126dd917a"),
           ("aiokafka.protocol.admin:DeleteGroupsRequest", "2a99133d0151a3f0"))
async def delete_consumer_group(admin: AIOKafkaAdminClient, group: str) -> int:
    """Delete `group` (its committed offsets) on its coordinator; returns Kafka's error code for
    it (0 done, 68 NON_EMPTY_GROUP, 69 GROUP_ID_NOT_FOUND, ...). aiokafka 0.14's admin client has
    no `delete_consumer_groups`, so the DeleteGroups request goes through its private
    `_send_request(request, node_id)`; the response holds `results: [(group_id, error_code)]`."""
    coordinator = await admin.find_coordinator(group)
    response = await admin._send_request(DeleteGroupsRequest([group]), coordinator)  # noqa: SLF001
    codes = {name: code for name, code in response.results}
    return codes[group]
