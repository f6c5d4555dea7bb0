"""Markdown written by editors, rendered to safe HTML. Plain Python.

CommonMark with raw HTML switched off, then an allow-list sanitiser (nh3) as a second wall:
paragraphs, lists, emphasis, code, quotes and links (http, https, mailto, tel) survive; script,
styles, event handlers, other URL schemes and everything else do not.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

_parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_parser.disable("image")

TAGS = {"p", "br", "ul", "ol", "li", "strong", "em", "code", "pre", "blockquote", "a", "hr"}
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
SCHEMES = {"http", "https", "mailto", "tel"}


@lru_cache(maxsize=1024)
def render(text: str | None) -> str:
    """Safe HTML for `text` (Markdown). Headings become plain paragraphs' text, so that an
    instruction never breaks the page's heading outline. Kept for the texts last asked for:
    an item page shows several instructions, the same ones over and over, and each costs a
    millisecond to render."""
    html = _parser.render(text or "")
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
