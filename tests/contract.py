"""The inbound contract's examples, from the repository's own copies (tests/contract_examples)."""

from __future__ import annotations

import json
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent / "contract_examples"


def example(name: str) -> dict:
    """A fresh copy of the example payload `name` (e.g. "help-request.json")."""
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
