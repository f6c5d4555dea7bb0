"""A real HTTP receiver on loopback for the outbound contract's tests: it records every
request (headers and body) and answers as the test tells it to (a status, a delay, headers)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class Received:
    id: str
    timestamp: str
    signature: str
    body: bytes

    @property
    def document(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers `status` (or the next of `script`, a list of statuses or (status, headers,
    delay) tuples) and keeps what it got, in order."""

    status: int = 204
    script: list = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    attempts: int = 0

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/desk-events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _app(self, environ, start_response):
        request = Request(environ)
        with self.lock:
            self.attempts += 1
            step = self.script.pop(0) if self.script else self.status
        status, headers, delay = step if isinstance(step, tuple) else (step, {}, 0)
        if delay:
            time.sleep(delay)
        if 200 <= status < 300:
            with self.lock:
                self.received.append(
                    Received(
                        request.headers.get("webhook-id", ""),
                        request.headers.get("webhook-timestamp", ""),
                        request.headers.get("webhook-signature", ""),
                        request.get_data(),
                    )
                )
        body = "" if 200 <= status < 300 else f"refused with {status}"
        return Response(body, status=status, headers=headers)(environ, start_response)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def ids(self) -> list[str]:
        return [r.id for r in self.received]
