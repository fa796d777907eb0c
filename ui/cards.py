"""Source cards: a cited or retrieved passage shown with its title, outlet · author ·
date, file, page and support, the quote marked; the compact list of passages found while
an answer is written; the card of a saved answer whose article changed since; a card's
link to the article view.

All article text goes through ``render.text`` (escaped) before it is placed in markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from ui.render import badge, highlighted, shorten, text


def article_url(source: str, start: int, end: int, quote_start: int, quote_end: int) -> str:
    """A link to the page's article view, scrolled to one passage."""
    return "?" + urlencode(
        {"article": source, "start": start, "end": end, "qs": quote_start, "qe": quote_end}
    )


def excerpt(body: str, start: int, end: int, context: int = 220) -> tuple[str, int, int]:
    """``body`` cut to about ``context`` characters either side of ``body[start:end]``.

    Cuts fall on line or sentence ends, else on spaces, and are shown with "…".
    Returns the excerpt and the span's new offsets in it.
    """
    start = max(0, min(start, len(body)))
    end = max(start, min(end, len(body)))
    left = max(0, start - context)
    if left > 0:
        window = body[left:start]
        cut = max(window.rfind("\n"), window.rfind(". "), window.rfind("? "), window.rfind("! "))
        cut = cut + 1 if cut >= 0 else window.find(" ")
        left = left + cut if cut >= 0 else start
    right = min(len(body), end + context)
    if right < len(body):
        window = body[end:right]
        cut = max(window.rfind("\n"), window.rfind(". "), window.rfind("? "), window.rfind("! "))
        cut = cut + 1 if cut >= 0 else window.rfind(" ")
        right = end + cut if cut >= 0 else end
    head = "… " if left > 0 else ""
    tail = " …" if right < len(body) else ""
    text_ = head + body[left:right].strip("\n ") + tail
    shift = len(head) - left - (len(body[left:right]) - len(body[left:right].lstrip("\n ")))
    return text_, start + shift, end + shift


def passage_card(p: Any) -> str:
    """The card of a retrieved passage that no claim cites (related, or also retrieved)."""
    return source_card(
        None,
        p.title,
        p.source,
        p.published,
        p.text,
        p.start,
        page=p.page,
        last_page=p.last_page,
        **news_of(p),
    )


def news_of(p: Any) -> dict[str, Any]:
    """A passage's outlet, author and wire copies, as ``source_card`` takes them."""
    if p is None:
        return {}
    return {
        "outlet": getattr(p, "outlet", None),
        "author": getattr(p, "author", None),
        "copies": tuple(getattr(p, "copies", None) or ()),
    }


def source_card(
    n: int | None,
    title: str,
    source: str,
    published: str | None,
    passage: str,
    start: int,
    quote_start: int | None = None,
    quote_end: int | None = None,
    supported: bool | None = None,
    anchor: str | None = None,
    context: int | None = 220,
    page: int | None = None,
    last_page: int | None = None,
    outlet: str | None = None,
    author: str | None = None,
    copies: Sequence[str] = (),
) -> str:
    """One source card: number, title, outlet · author · date, file, page, support, the
    passage with the quote marked, and the other articles carrying the same wire story.

    With ``context``, a long passage is cut to that many characters around the quote
    (the whole article is one click away).
    """
    meta = [text(value) for value in (outlet, author, published) if value]
    meta.append(f"<code>{text(source)}</code>")
    if page and last_page and last_page != page:
        meta.append(f"pp. {int(page)}\u2013{int(last_page)}")
    elif page:
        meta.append(f"p. {int(page)}")
    if supported is True:
        meta.append('<span class="rag-ok">✓ supports the answer</span>')
    elif supported is False:
        meta.append('<span class="rag-warn">⚠ does not clearly support the cited sentence</span>')
    if quote_start is not None and quote_end is not None and quote_end > quote_start:
        q0, q1 = quote_start - start, quote_end - start
        shown = passage
        if context is not None:
            shown, q0, q1 = excerpt(passage, q0, q1, context)
        body = highlighted(shown, q0, q1)
    elif context is not None:
        shown, _, _ = excerpt(passage, 0, 0, 2 * context)
        body = text(shown)
    else:
        body = text(passage)
    number = badge(n) if n is not None else ""
    weak = " rag-weak" if supported is False else ""
    anchor_attr = f' id="{text(anchor)}"' if anchor else ""
    return (
        f'<div class="rag-card{weak}"{anchor_attr}>'
        f'<div class="rag-head">{number}<span class="rag-title">{text(title or source)}</span></div>'
        f'<div class="rag-meta">{" · ".join(meta)}</div>'
        f'<div class="rag-text">{body}</div>'
        f"{also_in(copies)}"
        "</div>"
    )


def also_in(copies: Sequence[str]) -> str:
    """The line naming the other articles that carry the same wire story ('' if none)."""
    if not copies:
        return ""
    n = len(copies)
    names = ", ".join(f"<code>{text(c)}</code>" for c in copies)
    return f'<div class="rag-meta">Also in {n} other article{"s" if n > 1 else ""}: {names}</div>'


def found_list(passages: Sequence[Any]) -> str:
    """The passages just retrieved, one compact line each, while the answer is written."""
    rows = "".join(
        f'<li><span class="rag-title">{text(shorten(p.title or p.source, 80))}</span> '
        f'<span class="rag-meta">· <code>{text(p.source)}</code></span></li>'
        for p in passages
    )
    return f'<div class="rag-found"><ul>{rows}</ul></div>'


_STALE = {
    "changed": (
        "The article has changed since this answer: the cited passage is no longer in it, "
        "so it is not shown. Ask again to cite the article as it is now."
    ),
    "vanished": (
        "The article is no longer in the articles folder, so the cited passage cannot be "
        "shown. Ask again to cite what is there now."
    ),
}


def stale_card(
    n: int | None, title: str, source: str, state: str, anchor: str | None = None
) -> str:
    """A source card for a saved answer whose passage changed or vanished since:
    it says so instead of showing text that is no longer in the article."""
    label = "changed since" if state == "changed" else "no longer there"
    number = badge(n) if n is not None else ""
    anchor_attr = f' id="{text(anchor)}"' if anchor else ""
    return (
        f'<div class="rag-card rag-weak rag-stale"{anchor_attr}>'
        f'<div class="rag-head">{number}<span class="rag-title">{text(title or source)}</span></div>'
        f'<div class="rag-meta"><code>{text(source)}</code> · '
        f'<span class="rag-warn">⚠ {text(label)}</span></div>'
        f'<div class="rag-text">{text(_STALE.get(state, _STALE["changed"]))}</div>'
        "</div>"
    )
