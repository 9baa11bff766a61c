"""CSV exports: columns, formula neutralising, streaming."""

import csv
import io
from datetime import date
from decimal import Decimal

from fastapi import FastAPI
from fastapi.testclient import TestClient

from casework.csv_export import cell, csv_response, csv_text


def test_cells_and_formula_guard() -> None:
    assert cell(None) == "" and cell(True) == "yes" and cell(Decimal("-12.50")) == "-12.50"
    assert cell(date(2026, 4, 1)) == "2026-04-01"
    assert cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert cell("@SUM(A1)") == "'@SUM(A1)" and cell("-1+1") == "'-1+1" and cell("plain") == "plain"


def test_csv_text_keeps_column_order_and_quotes() -> None:
    text = csv_text(["b", "a"], [{"a": 1, "b": "x, y"}, {"a": 2}])
    assert list(csv.reader(io.StringIO(text))) == [["b", "a"], ["x, y", "1"], ["", "2"]]


def test_streamed_response_from_an_async_generator() -> None:
    app = FastAPI()

    async def rows():  # type: ignore[no-untyped-def]
        for i in range(3):
            yield {"n": i, "note": f"=cmd{i}"}

    @app.get("/export.csv")
    def export():  # type: ignore[no-untyped-def]
        return csv_response(["n", "note"], rows(), "export.csv")

    response = TestClient(app).get("/export.csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="export.csv"' in response.headers["content-disposition"]
    assert list(csv.reader(io.StringIO(response.text))) == [
        ["n", "note"],
        ["0", "'=cmd0"],
        ["1", "'=cmd1"],
        ["2", "'=cmd2"],
    ]
