"""Which rewind markers make a consumer read its partition again (casework.broker_loss.RewindsActedOn)."""

from casework.broker_loss import RewindsActedOn

EVENTS = ("cdf.events", 0)


def test_a_marker_is_acted_on_once() -> None:
    rewinds = RewindsActedOn()
    assert rewinds.reads_again(EVENTS, "a", 1_000)
    assert not rewinds.reads_again(EVENTS, "a", 1_000)  # met again after its rewind


def test_older_markers_met_after_a_rewind_are_not_acted_on() -> None:
    rewinds = RewindsActedOn()
    assert rewinds.reads_again(EVENTS, "newest", 3_000)
    # reading the partition again from the start: the markers of earlier losses come first
    assert [rewinds.reads_again(EVENTS, m, t) for m, t in [("first", 1_000), ("second", 2_000)]] == [False, False]
    assert rewinds.reads_again(EVENTS, "later loss", 4_000)


def test_each_partition_is_judged_on_its_own() -> None:
    rewinds = RewindsActedOn()
    assert rewinds.reads_again(EVENTS, "a", 3_000)
    assert rewinds.reads_again(("cdf.events", 1), "b", 1_000)
