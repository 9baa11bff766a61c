"""The consumer-lag gauges: each assigned partition's highwater (from the last fetch) minus the next offset
the member will handle, worked out without a call to the broker (the consumer loop never waits on it).
The consumer here stands in for aiokafka's: only its two synchronous getters are read (FetchState)."""

from __future__ import annotations

from types import SimpleNamespace

from aiokafka import TopicPartition
from prometheus_client import REGISTRY

from casework.consumer_lag import ConsumerLag
from casework.inbox import EventConsumer

A, B, C = (TopicPartition("lag.events", p) for p in range(3))


class Fetched:
    """What the consumer knows after its last fetch: its assignment and each partition's highwater."""

    def __init__(self, highwaters: dict[TopicPartition, int | None]) -> None:
        self.highwaters = highwaters

    def assignment(self) -> set[TopicPartition]:
        return set(self.highwaters)

    def highwater(self, partition: TopicPartition) -> int | None:
        return self.highwaters[partition]


def lag(partition: int, service: str = "lagtest") -> float | None:
    labels = {"service": service, "group": f"{service}-service", "topic": "lag.events", "partition": str(partition)}
    return REGISTRY.get_sample_value("casework_consumer_lag", labels)


def test_lag_is_the_highwater_less_what_is_handled_and_gone_partitions_are_dropped() -> None:
    gauges = ConsumerLag("lagtest", "lagtest-service")
    # handled up to offset 6 of A; nothing of B returned since it was assigned; C not fetched yet
    gauges.set(Fetched({A: 10, B: 4, C: None}), handled={A: 7}, rewound=())
    assert (lag(0), lag(1), lag(2)) == (3.0, 0.0, None)  # C: no value rather than a guess

    gauges.set(Fetched({A: 12, C: 5}), handled={A: 10, C: 2}, rewound=())
    assert (lag(0), lag(1), lag(2)) == (2.0, None, 3.0)  # B went to another member: it reports B now


def test_a_partition_being_read_again_keeps_its_last_value_and_updates_are_spaced() -> None:
    gauges = ConsumerLag("lagtest", "lagtest-service")
    gauges.set(Fetched({A: 9}), handled={A: 5}, rewound=())
    gauges.set(Fetched({A: 9}), handled={}, rewound={A})
    assert lag(0) == 4.0
    gauges.update(Fetched({A: 9}), handled={A: 9}, rewound=())  # the first update of this member: at once
    assert lag(0) == 0.0
    gauges.update(Fetched({A: 20}), handled={A: 9}, rewound=())  # within interval_s of the last: skipped
    assert lag(0) == 0.0


async def test_a_closed_consumer_reports_no_lag() -> None:
    runtime = SimpleNamespace(settings=SimpleNamespace(service_name="lagclose"), registry=None)
    events = EventConsumer(runtime, {})
    events._lag.set(Fetched({A: 9}), handled={A: 5}, rewound=())
    assert lag(0, "lagclose") == 4.0
    await events.close()  # another member will report the partition
    assert lag(0, "lagclose") is None
