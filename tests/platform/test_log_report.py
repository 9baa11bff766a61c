"""What a failed test's report shows of the stack's logs: warnings and worse, written while it ran."""

from pathlib import Path

from embedded_stack.log_report import LINES_PER_FILE, notable_lines


def test_only_lines_written_after_the_mark_at_warning_or_worse_are_shown(tmp_path: Path) -> None:
    log = tmp_path / "contract-1.log"
    log.write_text('{"event": "before the test", "level": "error"}\n')
    mark = log.stat().st_size
    with log.open("a") as handle:
        handle.write('{"event": "a request", "level": "info"}\n')
        handle.write('{"event": "service unavailable", "level": "warning"}\n')
        handle.write("Traceback (most recent call last):\n\n")
        handle.write('{"event": "unhandled error", "level": "ERROR"}\n')
    assert notable_lines(log, mark).splitlines() == [
        '{"event": "service unavailable", "level": "warning"}',
        "Traceback (most recent call last):",
        '{"event": "unhandled error", "level": "ERROR"}',
    ]


def test_a_long_burst_is_cut_to_its_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "cdf-1.log"
    log.write_text("".join(f'{{"event": "retry {n}", "level": "warning"}}\n' for n in range(100)))
    shown = notable_lines(log, 0).splitlines()
    assert len(shown) == LINES_PER_FILE and shown[-1].endswith('"retry 99", "level": "warning"}')
