"""The partner's own state in one SQLite file: the desk's events it received, the residents'
matters it delivered, and every message of them (the resident's, the chatbot's and the
professionals'), so that a chat survives a restart.

Plain sqlite3: one connection per unit of work, `BEGIN IMMEDIATE` for every change, so that two
threads (a webhook and a resident's message) never interleave inside one chat.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- Every event the desk sent, once: the webhook-id is the key a retry repeats.
CREATE TABLE IF NOT EXISTS events (
    webhook_id TEXT PRIMARY KEY,
    type TEXT,
    received_at TEXT NOT NULL,
    body TEXT NOT NULL
);
-- A resident's matter on one channel (a chat, an assessment, a form, a request), or one the
-- desk wrote about that the partner did not start (then only what the events said).
CREATE TABLE IF NOT EXISTS matters (
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    personal_id TEXT,
    name TEXT,
    language TEXT NOT NULL DEFAULT 'fi',
    municipality TEXT,
    title TEXT,
    payload TEXT,
    created_at TEXT NOT NULL,
    answer_status INTEGER,
    answer TEXT,
    delivered_seq INTEGER NOT NULL DEFAULT 0,
    closed_at TEXT,
    closing_text TEXT,
    item_id TEXT,
    item_status TEXT,
    queue TEXT,
    due_at TEXT,
    updated_at TEXT,
    PRIMARY KEY (channel, external_id)
);
-- The messages of a matter in the order they arrived here (seq). order_at is the time a chat
-- sends for the message: never earlier than the message before it.
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    message_id TEXT UNIQUE,
    sender TEXT NOT NULL,
    kind TEXT,
    text TEXT NOT NULL,
    links TEXT NOT NULL DEFAULT '[]',
    display_name TEXT,
    title TEXT,
    reply_by TEXT,
    sent_at TEXT NOT NULL,
    order_at TEXT NOT NULL,
    in_reply_to TEXT,
    attachments TEXT NOT NULL DEFAULT '[]',
    received_at TEXT NOT NULL,
    read_at TEXT,
    answer_status INTEGER,
    answer TEXT
);
CREATE INDEX IF NOT EXISTS messages_of_matter ON messages (channel, external_id, seq);
CREATE INDEX IF NOT EXISTS matters_of_resident ON matters (personal_id);
"""


class Store:
    """The SQLite file and how to open it."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)

    @contextmanager
    def connect(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection for one unit of work; with `write`, one immediate transaction that is
        committed at the end (rolled back on an exception)."""
        conn = sqlite3.connect(self.path, timeout=15, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            if write:
                conn.execute("BEGIN IMMEDIATE")
            yield conn
            if write:
                conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    def init(self) -> None:
        """Create the tables (once) and the session key (once)."""
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
            conn.execute(
                "INSERT OR IGNORE INTO settings (name, value) VALUES ('secret_key', ?)",
                (secrets.token_hex(32),),
            )

    def secret_key(self) -> str:
        """The key that signs the partner's session cookies, made on the first start."""
        with self.connect() as conn:
            return conn.execute("SELECT value FROM settings WHERE name = 'secret_key'").fetchone()[
                0
            ]


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def add_event(conn: sqlite3.Connection, webhook_id: str, kind: Any, body: bytes, at: str) -> bool:
    """Remember an event of the desk; False when its webhook-id was already received."""
    cursor = conn.execute(
        "INSERT OR IGNORE INTO events (webhook_id, type, received_at, body) VALUES (?, ?, ?, ?)",
        (webhook_id, kind if isinstance(kind, str) else None, at, body.decode("utf-8", "replace")),
    )
    return cursor.rowcount == 1


def events_count(conn: sqlite3.Connection) -> int:
    """How many events of the desk are stored."""
    return conn.execute("SELECT count(*) FROM events").fetchone()[0]


def create_matter(conn: sqlite3.Connection, channel: str, external_id: str, **fields: Any) -> None:
    """A new matter the resident started here."""
    columns = ["channel", "external_id", *fields]
    conn.execute(
        f"INSERT INTO matters ({', '.join(columns)}) "  # noqa: S608 (column names are ours)
        f"VALUES ({', '.join('?' for _ in columns)})",
        (channel, external_id, *fields.values()),
    )


def ensure_matter(
    conn: sqlite3.Connection, channel: str, external_id: str, language: str | None, at: str
) -> None:
    """The matter an event is about, made from the event when the partner did not start it."""
    conn.execute(
        "INSERT OR IGNORE INTO matters (channel, external_id, language, created_at) "
        "VALUES (?, ?, ?, ?)",
        (channel, external_id, language if language in ("fi", "sv", "en") else "fi", at),
    )


def update_matter(conn: sqlite3.Connection, channel: str, external_id: str, **fields: Any) -> None:
    """Change some fields of a matter."""
    assignments = ", ".join(f"{name} = ?" for name in fields)
    conn.execute(
        f"UPDATE matters SET {assignments} "  # noqa: S608 (column names are ours)
        "WHERE channel = ? AND external_id = ?",
        (*fields.values(), channel, external_id),
    )


def matter(conn: sqlite3.Connection, channel: str, external_id: str) -> sqlite3.Row | None:
    """One matter, or None."""
    return conn.execute(
        "SELECT * FROM matters WHERE channel = ? AND external_id = ?", (channel, external_id)
    ).fetchone()


def matters_of(conn: sqlite3.Connection, personal_id: str) -> list[sqlite3.Row]:
    """The matters of an identified resident, newest first."""
    return conn.execute(
        "SELECT * FROM matters WHERE personal_id = ? ORDER BY created_at DESC, rowid DESC",
        (personal_id,),
    ).fetchall()


def matters_named(conn: sqlite3.Connection, keys: list[tuple[str, str]]) -> list[sqlite3.Row]:
    """The matters with these (channel, external_id) keys, newest first."""
    found = [m for key in keys if (m := matter(conn, *key)) is not None]
    return sorted(found, key=lambda m: m["created_at"], reverse=True)


def append_message(
    conn: sqlite3.Connection,
    channel: str,
    external_id: str,
    *,
    sender: str,
    text: str,
    sent_at: str,
    received_at: str,
    message_id: str | None = None,
    **fields: Any,
) -> int | None:
    """Add a message at the end of a matter; its seq, or None when a message with this
    message_id is already stored. Its order_at is its sent_at, or the order_at of the message
    before it when that is later: what was already sent is never reordered."""
    last = conn.execute(
        "SELECT order_at FROM messages WHERE channel = ? AND external_id = ? "
        "ORDER BY seq DESC LIMIT 1",
        (channel, external_id),
    ).fetchone()
    order_at = sent_at
    if last is not None and _moment(last["order_at"]) > _moment(sent_at):
        order_at = last["order_at"]
    for name in ("links", "attachments"):
        if name in fields:
            fields[name] = json.dumps(fields[name], ensure_ascii=False)
    columns = {
        "channel": channel,
        "external_id": external_id,
        "message_id": message_id,
        "sender": sender,
        "text": text,
        "sent_at": sent_at,
        "order_at": order_at,
        "received_at": received_at,
        **fields,
    }
    cursor = conn.execute(
        f"INSERT OR IGNORE INTO messages ({', '.join(columns)}) "  # noqa: S608 (ours)
        f"VALUES ({', '.join('?' for _ in columns)})",
        tuple(columns.values()),
    )
    return cursor.lastrowid if cursor.rowcount == 1 else None


def messages(
    conn: sqlite3.Connection, channel: str, external_id: str, after: int = 0
) -> list[sqlite3.Row]:
    """A matter's messages after seq `after`, in the order they arrived."""
    return conn.execute(
        "SELECT * FROM messages WHERE channel = ? AND external_id = ? AND seq > ? ORDER BY seq",
        (channel, external_id, after),
    ).fetchall()


def mark_read(
    conn: sqlite3.Connection, channel: str, external_id: str, at: str, upto: int | None = None
) -> list[str]:
    """Mark the professionals' unread messages of a matter read (up to seq `upto`); the
    message_ids of those that were unread."""
    bound = upto if upto is not None else 2**62
    rows = conn.execute(
        "SELECT seq, message_id FROM messages WHERE channel = ? AND external_id = ? "
        "AND sender = 'professional' AND read_at IS NULL AND seq <= ?",
        (channel, external_id, bound),
    ).fetchall()
    conn.executemany("UPDATE messages SET read_at = ? WHERE seq = ?", [(at, r[0]) for r in rows])
    return [r["message_id"] for r in rows if r["message_id"]]


def set_message_answer(conn: sqlite3.Connection, seq: int, status: int | None, answer: Any) -> None:
    """Keep the desk's answer to a resident's message."""
    conn.execute(
        "UPDATE messages SET answer_status = ?, answer = ? WHERE seq = ?",
        (status, json.dumps(answer, ensure_ascii=False), seq),
    )
