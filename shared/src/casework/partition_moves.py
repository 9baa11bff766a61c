"""When the partitions move under the event consumer (casework.inbox): at a rebalance, what was handled
on the partitions about to be taken away is committed first (their next owner starts there) and the
positions restart from the group's committed offsets on assignment; when the broker lost its log, a
fetched batch is cut at the first new rewind marker of each partition and that partition is read again
from the beginning (casework.broker_loss)."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from aiokafka import ConsumerRebalanceListener, ConsumerRecord, TopicPartition

from casework import broker_loss
from casework.logs import get_logger

if TYPE_CHECKING:
    from casework.inbox import EventConsumer

log = get_logger(__name__)


class CommitOnRevoke(ConsumerRebalanceListener):
    """Commits what was handled on partitions about to be taken away, so their next owner starts there."""

    def __init__(self, owner: EventConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        try:
            await self._owner.commit_handled(only=revoked)
        except Exception as exc:  # the next owner re-reads those records; the inbox drops them
            log.warning("offset commit before rebalance failed", error=repr(exc))

    async def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        self._owner.reset_offsets()


def cut_at_rewinds(
    batch: dict[TopicPartition, list[ConsumerRecord]], rewinds: broker_loss.RewindsActedOn
) -> tuple[dict[TopicPartition, list[ConsumerRecord]], set[TopicPartition]]:
    """The batch up to the first new rewind marker of each partition, and the partitions to read again
    from the beginning: the broker lost its log and this consumer may stand past events re-published
    into the new one (casework.broker_loss). What follows a marker is read again after the rewind."""
    rewound: set[TopicPartition] = set()
    kept = {}
    for tp, records in batch.items():
        for index, record in enumerate(records):
            marker = broker_loss.rewind_marker(record.headers)
            if marker is not None and rewinds.reads_again((tp.topic, tp.partition), marker, record.timestamp):
                log.warning(
                    "the broker lost its log: reading the partition again", topic=tp.topic, partition=tp.partition
                )
                records = records[:index]
                rewound.add(tp)
                break
        kept[tp] = records
    return kept, rewound
