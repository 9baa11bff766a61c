"""The consumer-lag gauge: each assigned partition's highwater (from the last fetch) minus the next
offset the consumer will handle, worked out without a call to the broker (the loop never waits on it).
The consumer here stands in for aiokafka's: only its two synchronous getters are used."""

from __future__ import annotations

from types import SimpleNamespace

from aiokafka import TopicPartition
from prometheus_client import REGISTRY

from casework.inbox import EventConsumer

A, B, C = (TopicPartition("lag.events", p) for p in range(3))


class Fetched:
    """What the consumer knows after its last fetch: its assignment and each partition's highwater."""

    def __init__(self, highwaters: dict[TopicPartition, int | None]) -> None:
        self.highwaters = highwaters

    def assignment(self) -> set[TopicPartition]:
        return set(self.highwaters)

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.highwaters[tp]


def lag(partition: int) -> float | None:
    labels = {"service": "lagtest", "group": "lagtest-service", "topic": "lag.events", "partition": str(partition)}
    return REGISTRY.get_sample_value("casework_consumer_lag", labels)


def consumer() -> EventConsumer:
    runtime = SimpleNamespace(settings=SimpleNamespace(service_name="lagtest"), registry=None)
    return EventConsumer(runtime, {})


def test_lag_is_the_highwater_less_what_is_handled_and_gone_partitions_are_dropped() -> None:
    events = consumer()
    events._handled = {A: 7}  # handled up to offset 6 of A; nothing of B returned since it was assigned
    events._set_lag(Fetched({A: 10, B: 4, C: None}), rewound=())
    assert (lag(0), lag(1), lag(2)) == (3.0, 0.0, None)  # C not fetched yet: no value rather than a guess

    events._handled = {A: 10, C: 2}
    events._set_lag(Fetched({A: 12, C: 5}), rewound=())
    assert (lag(0), lag(1), lag(2)) == (2.0, None, 3.0)  # B went to another member: it reports B now


async def test_a_partition_being_read_again_keeps_its_last_value_and_a_closed_consumer_reports_none() -> None:
    events = consumer()
    events._handled = {A: 5}
    events._set_lag(Fetched({A: 9}), rewound=())
    events._handled = {}
    events._set_lag(Fetched({A: 9}), rewound={A})
    assert lag(0) == 4.0
    await events.close()  # another member will report the partition
    assert lag(0) is None
