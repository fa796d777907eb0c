"""An HTML page's news metadata, from its markup: trafilatura/htmldate for the dates,
author, site name and canonical URL, JSON-LD for what they miss, and the language the page
declares (``<html lang>``, ``content-language``, ``og:locale``, JSON-LD ``inLanguage``),
read from the parsed page, never by matching markup."""

from __future__ import annotations

import json
from typing import Any

from rag.language import language_tag
from rag.metadata import ArticleMeta, http_url, parse_date


def from_html(raw: str, soup: Any) -> ArticleMeta:
    """The metadata of an HTML page: trafilatura/htmldate, plus the page's language.

    ``soup`` is the page already parsed by BeautifulSoup (before anything is removed).
    """
    from htmldate import find_date
    from trafilatura.metadata import extract_metadata

    # Dates from the page's markup and metadata only (the wider search takes a footer's
    # "Copyright 2024" for a date); no upper bound, so a date after today is seen and
    # reported instead of silently dropped.
    params: dict[str, Any] = {
        "extensive_search": False,
        "original_date": True,
        "max_date": "2099-12-31",
    }
    try:
        found = extract_metadata(raw, date_config=params)
    except Exception:  # a page trafilatura cannot parse still has its text indexed
        found = None
    try:
        newest = find_date(raw, **{**params, "original_date": False})
    except Exception:
        newest = None
    ld = _json_ld(soup)
    meta = ArticleMeta(
        published=parse_date(getattr(found, "date", None) or ""),
        updated=parse_date(newest or ""),
        author=_clean(getattr(found, "author", None), "; ", ", "),
        outlet=_clean(getattr(found, "sitename", None)) or _ld_name(ld.get("publisher")),
        url=http_url(getattr(found, "url", None)) or http_url(_ld_url(ld)),
        language=_html_language(soup, ld),
    )
    return meta.tidy()


def _clean(value: Any, old: str = "", new: str = "") -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    if old:
        value = value.replace(old, new)
    return value[:200] or None


def _json_ld(soup: Any) -> dict[str, Any]:
    """The page's JSON-LD article object (NewsArticle, Article, ...), or {}."""
    for tag in soup.find_all("script", attrs={"type": "application/ld+json"}):
        try:
            data = json.loads(tag.string or "")
        except (json.JSONDecodeError, TypeError):
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            item = stack.pop(0)
            if not isinstance(item, dict):
                continue
            kind = item.get("@type")
            kinds = kind if isinstance(kind, list) else [kind]
            if any(isinstance(k, str) and k.endswith("Article") for k in kinds):
                return item
            graph = item.get("@graph")
            if isinstance(graph, list):
                stack.extend(graph)
    return {}


def _ld_name(value: Any) -> str | None:
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict):
        value = value.get("name")
    return _clean(value)


def _ld_url(ld: dict[str, Any]) -> str | None:
    page = ld.get("mainEntityOfPage")
    if isinstance(page, dict):
        page = page.get("@id") or page.get("url")
    for value in (ld.get("url"), page):
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return value
    return None


def _html_language(soup: Any, ld: dict[str, Any]) -> str | None:
    html = soup.find("html")
    candidates: list[Any] = [html.get("lang") if html else None]
    for attrs in ({"http-equiv": "content-language"}, {"property": "og:locale"}):
        tag = soup.find("meta", attrs=attrs)
        candidates.append(tag.get("content") if tag else None)
    candidates.append(ld.get("inLanguage"))
    for value in candidates:
        if isinstance(value, str) and (lang := language_tag(value)):
            return lang
    return None
