"""The partner's side of the wire: its settings (the desk's address, the inbound token, the
webhook secret) and the HTTP calls to the desk's inbound API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

KEYS = ("desk_url", "token", "secret")


@dataclass(frozen=True)
class Settings:
    """What registering the partner in the desk gives."""

    desk_url: str
    token: str
    secret: str


def load_settings(path: str | Path) -> tuple[Settings | None, str | None]:
    """The settings in the JSON file at `path`, or None and why not ("missing", "unreadable",
    "incomplete"). Read on every use: registering the partner needs no restart."""
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except FileNotFoundError:
        return None, "missing"
    except (OSError, ValueError):
        return None, "unreadable"
    if not isinstance(data, dict) or any(
        not isinstance(data.get(key), str) or not data[key].strip() for key in KEYS
    ):
        return None, "incomplete"
    return Settings(
        data["desk_url"].strip().rstrip("/"), data["token"].strip(), data["secret"]
    ), None


def inbound_path(channel: str, external_id: str | None = None, tail: str | None = None) -> str:
    """`/api/v1/inbound/{channel}[/{external_id}[/{tail}]]`, each part escaped."""
    path = f"/api/v1/inbound/{quote(channel, safe='')}"
    if external_id is not None:
        path += f"/{quote(external_id, safe='')}"
    if tail is not None:
        path += f"/{tail}"
    return path


@dataclass(frozen=True)
class Answer:
    """The desk's answer: its status and JSON body, or (status None) why it could not be
    reached."""

    status: int | None
    body: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def as_record(self) -> dict:
        """The answer as the partner keeps it."""
        return {"status": self.status, "body": self.body, "error": self.error}


class Desk:
    """The desk's inbound API with the partner's bearer token."""

    def __init__(self, settings: Settings, timeout: float = 5.0) -> None:
        self.settings = settings
        self.timeout = timeout

    def request(self, method: str, path: str, payload: Any = None) -> Answer:
        """One call; never raises for the desk's failures (they are the answer)."""
        headers = {
            "Authorization": f"Bearer {self.settings.token}",
            "Accept": "application/json",
        }
        try:
            # One client per call: the partner calls seldom, and nothing stays open.
            with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
                response = client.request(
                    method, self.settings.desk_url + path, json=payload, headers=headers
                )
        except httpx.HTTPError as error:
            return Answer(None, None, f"{type(error).__name__}: {error}".rstrip(": "))
        except (httpx.InvalidURL, ValueError) as error:  # a desk_url that is no URL
            return Answer(None, None, f"{type(error).__name__}: {error}")
        try:
            body = response.json()
        except ValueError:
            body = response.text[:2000]
        return Answer(response.status_code, body)

    def post(self, path: str, payload: Any) -> Answer:
        """POST a JSON body."""
        return self.request("POST", path, payload)

    def get(self, path: str) -> Answer:
        """GET a JSON answer."""
        return self.request("GET", path)
