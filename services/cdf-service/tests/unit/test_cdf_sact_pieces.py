from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

from hypothesis import example, given, settings
from hypothesis import strategies as st

from cdf_service.domain.sact_records import count_rows, frame_of, pieces, record_boundary, rows_of


def test_boundary_skips_newlines_inside_quotes() -> None:
    data = b'a,b\n1,"two\nlines"\n3,x'
    assert record_boundary(data) == len(b'a,b\n1,"two\nlines"\n')
    assert record_boundary(b'1,"open\n') == 0
    assert record_boundary(data, limit=8) == len(b"a,b\n")


async def _stream(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _cut(data: bytes, read: int, piece: int) -> tuple[list[str] | None, list[bytes]]:
    header, parts = None, []
    async for head, part in pieces(_stream(data, read), piece):
        if head is not None:
            header = head
        else:
            parts.append(part)
    return header, parts


cells = st.text(alphabet=st.sampled_from('ab,"\n 1'), max_size=6)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.lists(cells, min_size=2, max_size=2), max_size=40),
    read=st.integers(1, 50),
    piece=st.integers(1, 80),
)
async def test_pieces_hold_whole_records_and_lose_nothing(rows: list[list[str]], read: int, piece: int) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["NHS_NUMBER", "drug_name"])
    writer.writerows(rows)
    header, parts = await _cut(out.getvalue().encode(), read, piece)
    assert header == ["NHS_NUMBER", "DRUG_NAME"]
    got = [cells for part in parts for cells in csv.reader(io.StringIO(part.decode()))]
    expected = [row for row in csv.reader(io.StringIO(out.getvalue())) if row][1:]
    assert got == [row for row in expected if row]


def test_rows_fast_path_matches_the_csv_module() -> None:
    plain = b"1,a,\r\n2,b,c\r\n\r\n3,,d\n"
    assert list(rows_of(plain)) == [["1", "a", ""], ["2", "b", "c"], ["3", "", "d"]]
    quoted = b'1,"a,b",c\n2,x,y\n3,"two\nlines",z\n'
    assert list(rows_of(quoted)) == [["1", "a,b", "c"], ["2", "x", "y"], ["3", "two\nlines", "z"]]


lines_and_quotes = st.text(alphabet=st.sampled_from('a,\n\r"'), max_size=40).map(str.encode)
csv_text = st.lists(st.sampled_from(["a", ",", '"', "\n", "\r\n", "1,3", '""']), max_size=30).map("".join)


@settings(max_examples=500, deadline=None)
@given(text=csv_text)
def test_rows_are_what_the_csv_module_reads_whatever_the_quoting(text: str) -> None:
    expected = [row for row in csv.reader(io.StringIO(text)) if row]
    assert list(rows_of(text.encode())) == expected


@settings(max_examples=300, deadline=None)
@given(text=csv_text, shared=st.integers(1, 4))
def test_rows_sharing_leading_fields_with_the_row_before_are_read_the_same(text: str, shared: int) -> None:
    repeated = "a,1,,b\n" + text + '\na,1,,b,c\na,1,,bc\na,1,,b\na,1,"",b\n'  # lines sharing fields
    assert list(rows_of(repeated.encode(), shared)) == [row for row in csv.reader(io.StringIO(repeated)) if row]


@settings(max_examples=400, deadline=None)
@given(piece=lines_and_quotes | lines_and_quotes.map(lambda b: b.replace(b'"', b"")))
def test_row_count_without_parsing_is_exact_or_declines(piece: bytes) -> None:
    counted = count_rows(piece)
    assert counted is None or counted == len(list(rows_of(piece)))


def test_row_count_of_usual_extracts() -> None:
    lf = b"".join(b"9990000018,RRV,2026-01-0%d\n" % d for d in range(1, 8))
    assert count_rows(lf) == 7 and count_rows(lf.replace(b"\n", b"\r\n")) == 7
    assert count_rows(lf[:-1]) == 7  # the last line of a file may lack its newline
    assert count_rows(b"1,a\n\n2,b\n") is None  # a blank line: only parsing says it is skipped
    assert count_rows(b'1,"a\nb"\n2,"1,3"\n') == 2  # a quoted newline is not a row
    assert count_rows(b'1,"1,3"\n2,x\n3,"2,""3"""\n') == 3  # v4.0 item 88 of several codes
    assert count_rows(b'1,a"b\n2,x\n') is None  # a quote inside a field: the csv module's reading
    assert count_rows(b"") == 0


def test_a_copy_line_ends_with_the_duplicate_checksum_of_the_administration() -> None:
    from datetime import date

    from cdf_service.domain.sact_rows import Administration, duplicate_key
    from cdf_service.sact.pieces import COPY_COLUMNS, _line

    start, cycle, day = date(2026, 1, 5), date(2026, 1, 26), date(2026, 1, 27)
    given = Administration(
        "RRV", "f" * 64, 'odd, "name"', True, start, 2, cycle, day, None, None, 3, 28, True, "9434765919"
    )
    # the same administration reported again with other cycle-start, final-date and stop-reason values
    again = given._replace(cycle_start=date(2026, 1, 27), final_treatment_date=date(2026, 2, 1), stop_reasons=5)
    other_cycle = given._replace(cycle_number=3)
    lines = [_line("sid,", 7, a) for a in (given, again, other_cycle)]
    fields = [next(csv.reader([line])) for line, _ in lines]
    assert [int(f[-1]) for f in fields] == [key for _, key in lines]
    assert all(len(f) == len(COPY_COLUMNS) for f in fields)
    assert dict(zip(COPY_COLUMNS, fields[1], strict=True)) | {"patient_ref": "f"} == {
        "submission_id": "sid",
        "row_no": "7",
        "provider_ods": "RRV",
        "patient_ref": "f",
        "drug_key": 'odd, "name"',
        "listed": "t",
        "regimen_start": "2026-01-05",
        "cycle_number": "2",
        "cycle_start": "2026-01-27",
        "administration_date": "2026-01-27",
        "final_treatment_date": "2026-02-01",
        "stop_reasons": "5",
        "cycles": "3",
        "cycle_length_days": "28",
        "dispensed": "t",
        "nhs_number": "9434765919",  # a listed drug's row keeps it (an unapproved use names the patient)
        "duplicate_key": fields[1][-1],
    }
    fields = [f[1:] for f in fields]  # as before the submission id
    assert fields[0][-1] == fields[1][-1] != fields[2][-1]
    assert int(fields[0][-1]) == duplicate_key("f" * 64, 'odd, "name"', "2026-01-05", 2, "2026-01-27")


def test_repeated_checksums_across_and_within_pieces() -> None:
    from cdf_service.domain.sact_rows import RepeatedChecksums

    checksums = RepeatedChecksums()
    checksums.add([1, 2, 3])
    assert checksums.repeated == set()
    checksums.add([4, 2, 5, 5])  # 2 seen in an earlier piece, 5 twice in this one
    assert checksums.repeated == {2, 5}
    resumed = RepeatedChecksums([1, 2, 3, 4, 2, 5, 5])  # a worker resuming from the written rows
    assert resumed.repeated == {2, 5} and resumed.seen == {1, 2, 3, 4, 5}


def test_repeated_administrations_name_the_first_row_and_ignore_checksum_collisions() -> None:
    from datetime import date

    from cdf_service.domain.sact_rows import AdministrationRow, repeated_administrations

    day = date(2026, 1, 27)
    rows = [
        AdministrationRow(9, "a" * 64, "drug", date(2026, 1, 5), 2, day),
        AdministrationRow(3, "a" * 64, "drug", date(2026, 1, 5), 2, day),
        AdministrationRow(12, "a" * 64, "drug", date(2026, 1, 5), 2, day),
        AdministrationRow(4, "a" * 64, "drug", date(2026, 1, 5), 3, day),  # another cycle: a collision only
        AdministrationRow(5, "b" * 64, "drug", date(2026, 1, 5), 2, day),  # another patient
    ]
    assert repeated_administrations(rows) == {9: 3, 12: 3}
    assert repeated_administrations(rows[3:]) == {}


@settings(max_examples=500, deadline=None)
@given(text=csv_text | csv_text.map(lambda t: t.replace("\n", "\r\n")), width=st.integers(1, 4))
@example(text=",\na\n,,", width=2)  # a short row and a long one: as many commas as two rows of two
@example(text='"x,y"\na,\n,,', width=2)
def test_a_piece_read_as_columns_has_the_cells_the_csv_module_reads(text: str, width: int) -> None:
    """frame_of reads a piece exactly as rows_of does, or declines it (then rows_of reads it)."""
    piece = text.encode()
    frame = frame_of(piece, width)
    if frame is not None:
        assert [list(row) for row in frame.iter_rows()] == list(rows_of(piece))


def test_usual_pieces_are_read_as_columns() -> None:
    plain = b"1,a,\r\n2,b,c\r\n3,,d\r\n"
    quoted = b'1,"a,b",c\n2,x,y\n3,"two\nlines",z\n4,"1,3",""\n'
    for piece in (plain, quoted, plain.replace(b"\r", b"")):
        frame = frame_of(piece, 3)
        assert frame is not None and [list(row) for row in frame.iter_rows()] == list(rows_of(piece))
    short, long = b"1,a,b\n2,b\n3,c,d\n", b"1,a,b\n2,b,c,d\n"
    assert frame_of(short, 3) is None and frame_of(long, 3) is None  # rows_of reads them: a problem each
    assert frame_of(b"1,a,b\n\n2,b,c\n", 3) is None and frame_of(b"1,\xff,b\n", 3) is None
