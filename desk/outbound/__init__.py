"""Answering the resident (../shared/contract/outbound.md): the professional's messages, the
outbox they go out through, the endpoints of the source systems that carry them, and the
resident's answers coming back. Plain Python: no Flask."""

from __future__ import annotations

import os
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(prefix: str) -> str:
    """`prefix_` and a ULID: 48 bits of milliseconds and 80 random bits in Crockford base32,
    so ids sort by creation and never repeat (e.g. msg_01JEX8Q3M2T7R4V9K6W1Z5C8NB)."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return f"{prefix}_{''.join(reversed(chars))}"
