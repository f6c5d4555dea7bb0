"""The OpenAPI description is valid and describes exactly what the live endpoints answer:
schemathesis sends generated deliveries, valid and broken, to the real server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from openapi_spec_validator import validate
from sqlalchemy.orm import Session

from desk.inbound import tokens


@pytest.fixture(scope="session")
def live_token(live) -> str:
    with Session(live[1]) as s:
        _, secret = tokens.create(s, "schemathesis", ["chat", "omaolo", "eform", "help-request"])
        s.commit()
    return secret


def test_the_description_is_valid_openapi(client):
    validate(client.get("/api/v1/openapi.json").json)


def test_the_live_api_answers_as_described(live, live_token, tmp_path):
    """No 5xx, and every answer (status, headers, body) as the description says.

    One worker: Python 3.11's parser is not thread-safe in the way hypothesis uses it
    ("AST constructor recursion depth mismatch" with several workers).
    """
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            live[0] + "/api/v1/openapi.json",
            "--header",
            f"Authorization: Bearer {live_token}",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,"
            "response_headers_conformance,response_schema_conformance",
            "--max-examples",
            "40",
            "--workers",
            "1",
            "--suppress-health-check",
            "all",
            "--report-dir",
            str(tmp_path),
        ],
        cwd=tmp_path,  # schemathesis keeps a cache in its working directory
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
