"""Errors FastAPI raises itself come out as problem+json with a title that says what went wrong."""

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from casework.problems import PROBLEM_JSON, install_problem_handlers


class Note(BaseModel):
    text: str


def client() -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/notes")
    async def add(note: Note) -> dict[str, str]:
        return {"text": note.text}

    return TestClient(app)


def test_a_body_that_is_not_text_is_a_400_bad_request_problem() -> None:
    answer = client().post("/notes", content=b"x\x8b\n\x8e^", headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and answer.headers["content-type"] == PROBLEM_JSON
    assert answer.json()["title"] == "Bad request"


def test_malformed_json_is_a_422_naming_the_body() -> None:
    answer = client().post("/notes", content=b'{"text": ', headers={"Content-Type": "application/json"})
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"]
