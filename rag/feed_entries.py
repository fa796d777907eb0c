"""What one entry of a parsed feed says: how it is known next time, its date, its text.

An entry is known by its id, else its link, else its title; its version is its
``updated`` (or ``published``) stamp with a hash of its title, summary and link, so
an entry whose text changed counts as edited even when the feed forgot the stamp.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from rag.metadata import parse_date


def entry_text(entry: Any) -> str:
    """The entry's own content (or summary) as plain text."""
    from bs4 import BeautifulSoup

    parts = [c.get("value", "") for c in entry.get("content", [])] or [entry.get("summary", "")]
    html = "\n".join(str(p) for p in parts if p)
    return BeautifulSoup(html, "html.parser").get_text("\n") if html else ""


def entry_key(entry: Any) -> str:
    """What the entry is known by: its id, else its link, else its title."""
    return str(entry.get("id") or entry.get("link") or entry.get("title") or "").strip()


def entry_version(entry: Any) -> str:
    """Its stamp and a hash of what it says: a new version means the entry was edited."""
    # dict.get: feedparser's own get() maps a missing `updated` to `published`, warning.
    stamp = dict.get(entry, "updated") or dict.get(entry, "published") or ""
    said = json.dumps(
        [entry.get("title", ""), entry.get("summary", ""), entry.get("link", "")],
        ensure_ascii=False,
    )
    # An entry whose text changed is edited even when the feed forgot to bump `updated`.
    return f"{stamp}|{hashlib.sha256(said.encode()).hexdigest()[:16]}"


def entry_date(entry: Any) -> str | None:
    """Its publication (else update) date, ISO; None when it gives none."""
    for key in ("published_parsed", "updated_parsed"):
        stamp = dict.get(entry, key)
        if stamp:
            return time.strftime("%Y-%m-%d", stamp)
    return parse_date(str(dict.get(entry, "published") or dict.get(entry, "updated") or ""))
