"""A source system's webhook receiver for the outbound benchmark (bench/outbound.py).

A plain threaded HTTP/1.1 server on loopback, run as a process of its own so that it can be
stopped and started again (an outage). It checks each event's Standard Webhooks signature,
answers `204`, and appends one JSON line per event to a log: the `webhook-id`, the event's type,
item and text, and the moment (`time.time()`) just before the 2xx was written, which is the
benchmark's end of "reply → receiver".

    python -m bench.receiver --port 5091 --log receiver.jsonl   (secret in BENCH_WEBHOOK_SECRET)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


def serve(port: int, log_path: str, secret: str) -> None:
    hook = Webhook(secret)
    lock = threading.Lock()
    log = open(log_path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 (open while serving)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the desk's httpx client expects

        def log_message(self, *args) -> None:  # quiet
            return

        def do_GET(self) -> None:  # readiness
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                hook.verify(body, headers)
                valid = True
            except Exception:  # noqa: BLE001 (an unsigned event is counted, and refused)
                valid = False
            document = json.loads(body) if valid else {}
            data = document.get("data", {})
            record = {
                "id": headers.get("webhook-id"),
                "type": document.get("type"),
                "item_id": data.get("item_id"),
                "text": data.get("text"),
                "valid": valid,
            }
            record["at"] = time.time()
            self.send_response(204 if valid else 400)
            self.send_header("Content-Length", "0")
            self.end_headers()
            with lock:
                log.write(json.dumps(record, ensure_ascii=False) + "\n")

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    serve(args.port, args.log, os.environ["BENCH_WEBHOOK_SECRET"])


if __name__ == "__main__":
    main()
