"""The OpenAPI description is valid and describes exactly what the live endpoints answer:
schemathesis sends generated deliveries, valid and broken, to the real server."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.inbound import tokens
from desk.models import ItemMessage, WorkItem
from desk.outbound import new_id
from tests.contract import example

SEED = os.environ.get("SCHEMATHESIS_SEED", "20261205")


@pytest.fixture(scope="session")
def live_token(live) -> str:
    with Session(live[1]) as s:
        _, secret = tokens.create(
            s, "schemathesis", ["chat", "omaolo", "eform", "help-request", "callback"]
        )
        s.commit()
    return secret


def _answerable(live, token: str, external_id: str = "schemathesis-answered") -> tuple[str, str]:
    """An identified resident's e-form, delivered to the live desk, with a message of the
    desk on it: what the resident's messages and receipts are generated about."""
    payload = example("eform-income-support.json")
    payload["external_id"] = external_id
    payload["submitted_at"] = datetime.now(UTC).isoformat()
    response = httpx.post(
        f"{live[0]}/api/v1/inbound/eform",
        json=payload,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code in (200, 202), response.text
    with Session(live[1]) as s:
        item = s.scalar(select(WorkItem).where(WorkItem.external_id == payload["external_id"]))
        message = ItemMessage(
            id=new_id("msg"),
            item_id=item.id,
            outgoing=True,
            text="Hei",
            language="fi",
            kind="message",
            state="sent",
        )
        s.add(message)
        s.commit()
        return f"eform/{payload['external_id']}", message.id


def _ended(live, token: str) -> str:
    """Another e-form, resolved: what the residents' satisfaction answers are generated about."""
    ended, _message = _answerable(live, token, "schemathesis-ended")
    with Session(live[1]) as s:
        item = s.scalar(select(WorkItem).where(WorkItem.external_id == "schemathesis-ended"))
        item.status, item.resolved_at = "resolved", datetime.now(UTC)
        s.commit()
    return ended


def test_the_description_is_valid_openapi(client):
    validate(client.get("/api/v1/openapi.json").json)


def test_the_live_api_answers_as_described(live, live_token, tmp_path):
    """No 5xx, and every answer (status, headers, body) as the description says, in both
    directions: what the schema allows is accepted, unless it breaks a rule the document
    describes (tests/schemathesis_hooks.py), and what it does not allow is refused.

    One worker: Python 3.11's parser is not thread-safe in the way hypothesis uses it
    ("AST constructor recursion depth mismatch" with several workers).
    """
    answered, message = _answerable(live, live_token)
    ended = _ended(live, live_token)
    # A body over 256 KiB is refused with 413 before it is read, as the document says.
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        '[checks.negative_data_rejection]\nexpected-statuses = ["400", "401", "403", "404", '
        '"409", "413", "422", "429"]\n'
    )
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "--config-file",
            str(config),
            "run",
            live[0] + "/api/v1/openapi.json",
            "--header",
            f"Authorization: Bearer {live_token}",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,"
            "response_headers_conformance,response_schema_conformance,negative_data_rejection,"
            "positive_data_accepted_but_for_documented_rules,every_channel_accepts",
            "--max-examples",
            "40",
            "--workers",
            "1",
            "--suppress-health-check",
            "all",
            "--report-dir",
            str(tmp_path),
            # A fixed seed keeps a run reproducible; SCHEMATHESIS_SEED=random explores further.
            *([] if SEED == "random" else ["--seed", SEED]),
        ],
        cwd=tmp_path,  # schemathesis keeps a cache in its working directory
        capture_output=True,
        text=True,
        timeout=600,
        env={
            **os.environ,
            "NO_COLOR": "1",
            "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks",
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
            "DESK_ANSWERED_DELIVERY": answered,
            "DESK_ANSWERED_MESSAGE": message,
            "DESK_ENDED_DELIVERY": ended,
        },
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
