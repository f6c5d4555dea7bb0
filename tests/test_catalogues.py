"""Every user-visible string has its Finnish, Swedish and English translation, and the
catalogues are current with the code and templates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
PYBABEL = Path(sys.executable).with_name("pybabel")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> set[str]:
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [str(PYBABEL), "extract", "-F", "babel.cfg", "-k", "_l", "-o", str(pot), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as f:
        return {m.id for m in read_po(f) if m.id}


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_catalogue_is_complete_and_current(extracted, language):
    with (ROOT / "desk/translations" / language / "LC_MESSAGES/messages.po").open("rb") as f:
        catalogue = read_po(f)
    messages = {m.id: m for m in catalogue if m.id}
    assert extracted - messages.keys() == set(), "run `make extract` and translate"
    assert messages.keys() - extracted == set(), "obsolete messages: run `make extract`"
    untranslated = [m.id for m in messages.values() if not m.string or m.fuzzy]
    assert untranslated == []
    # A translation keeps every placeholder of its message.
    for message in messages.values():
        assert not list(message.check(catalogue)), message.id
