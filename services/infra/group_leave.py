"""A static group member leaving for good: its partitions move at once.

With static membership (`group.instance.id`, KIP-345) a consumer that
stops does not leave its group: the broker keeps its partitions for it until
the session timeout, so that a restart within it gets them back with no
rebalance. That is what a crashed worker restarted in place wants; a worker
stopped on purpose (a scale-in, a rolling update, whose pods come back under
other names) left its partitions unowned, and readers saw "stale", for the
whole session timeout (measured by hand: 10 s after a SIGTERM of a second
races process).

`leave_group(bootstrap, group, instance_id)` removes the member the way
Kafka's `Admin.removeMembersFromConsumerGroup` does: a LeaveGroup request,
version 3 or later, naming the member by its instance id (member id
unknown, ""), sent to the group's coordinator. aiokafka ships LeaveGroup
v0-v1 only (no instance id), so the v3 request and response are declared
here on aiokafka's protocol types. Best effort: it returns False, logged,
when the broker refuses or is unreachable; the session timeout then does
the same, later.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka.client import AIOKafkaClient, ConnectionGroup, CoordinationType
from aiokafka.errors import KafkaError, for_code
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Int16, Int32, Schema, String

log = logging.getLogger(__name__)

UNKNOWN_MEMBER_ID = ""


class LeaveGroupResponse_v3(Response):  # named as aiokafka names its versions
    API_KEY = 13
    API_VERSION = 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        (
            "members",
            Array(
                ("member_id", String("utf-8")),
                ("group_instance_id", String("utf-8")),
                ("error_code", Int16),
            ),
        ),
    )


class LeaveGroupRequest_v3(RequestStruct):
    API_KEY = 13
    API_VERSION = 3
    RESPONSE_TYPE = LeaveGroupResponse_v3
    SCHEMA = Schema(
        ("group_id", String("utf-8")),
        ("members", Array(("member_id", String("utf-8")), ("group_instance_id", String("utf-8")))),
    )


class StaticLeave(Request[LeaveGroupRequest_v3]):
    """LeaveGroup of the static members `instance_ids` of `group`."""

    API_KEY = 13

    def __init__(self, group: str, instance_ids: list[str]) -> None:
        self.group = group
        self.instance_ids = instance_ids

    def build(self, request_struct_class: type[LeaveGroupRequest_v3]) -> LeaveGroupRequest_v3:
        members = [(UNKNOWN_MEMBER_ID, i) for i in self.instance_ids]
        return request_struct_class(self.group, members)


async def leave_group(bootstrap: str, group: str, instance_id: str, timeout_s: float = 5.0) -> bool:
    """Remove the static member `instance_id` from `group` now (module doc); whether the
    broker did."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000))
    try:
        await asyncio.wait_for(client.bootstrap(), timeout_s)
        node = await asyncio.wait_for(
            client.coordinator_lookup(CoordinationType.GROUP, group), timeout_s
        )
        response = await asyncio.wait_for(
            client.send(
                node, StaticLeave(group, [instance_id]), group=ConnectionGroup.COORDINATION
            ),
            timeout_s,
        )
    except (KafkaError, OSError, TimeoutError) as exc:
        log.warning("leaving group %s as %s failed (%r); its session times out", group,
                    instance_id, exc)  # fmt: skip
        return False
    finally:
        await client.close()
    codes = [response.error_code, *(m[2] for m in response.members)]
    failed = [for_code(c).__name__ for c in codes if c != 0]
    if failed:
        log.warning("leaving group %s as %s refused: %s", group, instance_id, ", ".join(failed))
        return False
    log.info("left group %s as static member %s", group, instance_id)
    return True
