"""A Markdown or text file's front matter: the ``key: value`` block between ``---`` lines."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

_FRONT = re.compile(r"\A---\n(.*?)\n---\n", re.S)


def without_front_matter(text: str) -> str:
    """The text after its front matter (all of it when it has none)."""
    m = _FRONT.match(text)
    return text[m.end() :] if m else text


def front_matter(text: str) -> dict[str, str]:
    """The ``key: value`` pairs of a Markdown file's front matter, keys in lower case.

    Read as YAML when it is valid YAML (so quoted values written by ``rag add``
    come back unescaped); otherwise line by line, as hand-written front matter
    such as ``title: Kyiv: the talks`` is not always valid YAML.
    """
    m = _FRONT.match(text)
    if not m:
        return {}
    import yaml

    try:
        loaded = yaml.safe_load(m.group(1))
    except (yaml.YAMLError, ValueError):  # ValueError: a date that is none (2025-02-30)
        loaded = None
    if isinstance(loaded, dict):
        return {
            str(key).strip().lower(): _scalar(value)
            for key, value in loaded.items()
            if _scalar(value)
        }
    out: dict[str, str] = {}
    for line in m.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            out[key.strip().lower()] = value.strip().strip("'\"")
    return out


def _scalar(value: Any) -> str:
    """A front matter value as text; a list of plain values (``authors: [A, B]``) joined."""
    if isinstance(value, list):
        return ", ".join(_scalar(v) for v in value if _scalar(v))
    if isinstance(value, str | int | float | date) and not isinstance(value, bool):
        return str(value).strip()
    return ""
