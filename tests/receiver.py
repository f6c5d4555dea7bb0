"""A real HTTP receiver on loopback for the outbound contract's tests: it records every
request (headers and body) and answers as the test tells it to (a status, a delay, headers),
holds a request until the test lets it go, and stops listening and listens again on the same
port (a receiver down, then back)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

#: a step of the script: keep the request until `release` is set, then answer 204 (or, as
#: (HOLD, status), that status)
HOLD = "hold"


@dataclass
class Received:
    id: str
    timestamp: str
    signature: str
    body: bytes

    @property
    def document(self) -> dict:
        return json.loads(self.body)


@dataclass(frozen=True)
class Attempt:
    """One request as it arrived (time.monotonic()) and how it was answered."""

    at: float
    id: str
    status: int


@dataclass
class Receiver:
    """Answers `status` (or the next of `script`, a list of statuses, (status, headers,
    delay) tuples or HOLD) and keeps what it took (2xx), in order, and every attempt."""

    status: int = 204
    script: list = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    attempts: int = 0
    log: list[Attempt] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        #: set while a HOLD step keeps a request; the request is answered once `release` is set
        self.holding = threading.Event()
        self.release = threading.Event()
        self.server = None
        self.port = 0
        self.start()
        self.url = f"http://127.0.0.1:{self.port}/desk-events"

    def start(self) -> None:
        """Listen (again, on the same port after `stop`)."""
        for _ in range(50):
            try:
                self.server = make_server("127.0.0.1", self.port, self._app, threaded=True)
                break
            except OSError:  # the port's old socket is still closing
                time.sleep(0.1)
        else:
            raise RuntimeError(f"port {self.port} stays taken")
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop listening: connections are refused until `start`."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def _app(self, environ, start_response):
        request = Request(environ)
        body = request.get_data()
        webhook_id = request.headers.get("webhook-id", "")
        with self.lock:
            self.attempts += 1
            step = self.script.pop(0) if self.script else self.status
        if step == HOLD or (isinstance(step, tuple) and step[0] == HOLD):
            self.holding.set()
            self.release.wait(timeout=120)
            step = 204 if step == HOLD else step[1]
        status, headers, delay = step if isinstance(step, tuple) else (step, {}, 0)
        with self.lock:
            self.log.append(Attempt(time.monotonic(), webhook_id, status))
        if delay:
            time.sleep(delay)
        if 200 <= status < 300:
            with self.lock:
                self.received.append(
                    Received(
                        webhook_id,
                        request.headers.get("webhook-timestamp", ""),
                        request.headers.get("webhook-signature", ""),
                        body,
                    )
                )
        answer = "" if 200 <= status < 300 else f"refused with {status}"
        # No keep-alive: once stopped, the receiver answers nothing on an old connection either.
        headers = {**headers, "Connection": "close"}
        return Response(answer, status=status, headers=headers)(environ, start_response)

    def close(self) -> None:
        self.release.set()
        self.stop()

    def ids(self) -> list[str]:
        return [r.id for r in self.received]

    def tries(self, webhook_id: str) -> list[Attempt]:
        """The attempts that carried `webhook_id`, in the order they arrived."""
        with self.lock:
            return [a for a in self.log if a.id == webhook_id]
