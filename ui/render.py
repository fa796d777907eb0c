"""HTML for the chat page, built so that article and model text is always shown as text.

Everything that comes from an article or from the model goes through ``html.escape``
before it is placed inside markup; only the tags written here are ever real HTML.
Nothing in this module imports Streamlit, so it is tested as plain functions.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

# Markers the model writes: [3], [1, 2], [1][2]; after checking the answer uses [n][m].
_MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
_STRIPPED_MARKER = re.compile(r"[ \t]*\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\]")

CSS = """
<style>
.block-container {padding-top: 2.2rem;}
.rag-article-head h1 {font-size: 1.35rem; line-height: 1.35; margin: 0 0 .3rem 0; padding: 0;}
.rag-article-head .rag-meta {color: #5b6475; font-size: .85rem;}
.rag-article-head code {font-size: .8rem; background: #eef1f7; padding: .05rem .3rem;
  border-radius: .25rem; color: #1d2433;}
sup.rag-cite {display: inline-block; min-width: 1.25em; padding: 0 .32em; margin: 0 .08em;
  border-radius: .6em; background: #2f5bd3; color: #fff !important; font-size: .68em;
  font-weight: 600; line-height: 1.45; text-align: center; vertical-align: super;
  cursor: help;}
a.rag-cite-link, a.rag-cite-link:hover {text-decoration: none;}
span.rag-unsupported {text-decoration: underline wavy #d9822b; text-underline-offset: 3px;
  background: #fff4e5;}
span.rag-uncited {text-decoration: underline dotted #8a94a6; text-underline-offset: 3px;}
.rag-answer {white-space: pre-wrap; font-size: 1rem; line-height: 1.6; color: #1d2433;
  margin: 0 0 .25rem 0;}
.rag-answer.rag-user {margin: 0;}
.rag-caret {color: #2f5bd3;}
.rag-card {border: 1px solid #e3e7ef; border-left: 4px solid #2f5bd3; border-radius: .5rem;
  padding: .6rem .8rem .55rem .8rem; margin: 0 0 .2rem 0; background: #fbfcfe;}
.rag-card.rag-weak {border-left-color: #d9822b;}
.rag-card .rag-head {display: flex; gap: .5rem; align-items: baseline;}
.rag-card .rag-title {font-weight: 600; color: #1d2433;}
.rag-card .rag-meta {color: #5b6475; font-size: .8rem; margin: .1rem 0 .35rem 0;}
.rag-card .rag-meta code {font-size: .78rem; background: #eef1f7; padding: .05rem .3rem;
  border-radius: .25rem; color: #1d2433;}
.rag-card .rag-text {white-space: pre-wrap; font-size: .88rem; line-height: 1.5;
  color: #394150;}
.rag-card mark, .rag-article mark {background: #fde68a; color: inherit; padding: 0 .1em;
  border-radius: .15em;}
.rag-ok {color: #1a7f37;} .rag-warn {color: #b35c00;}
.rag-badge {display: inline-block; font-size: .72rem; padding: .05rem .45rem;
  border-radius: .6rem; background: #eef1f7; color: #394150;}
.rag-article {white-space: pre-wrap; font-size: .98rem; line-height: 1.65; color: #1d2433;
  max-width: 46rem;}
.rag-article .rag-passage {background: #e6edff; box-shadow: -6px 0 0 #e6edff, 6px 0 0 #e6edff;
  border-radius: .2em;}
.rag-library {border: 1px solid #e3e7ef; border-radius: .5rem; padding: .7rem 1rem .5rem 1rem;
  background: #fbfcfe; font-size: .9rem; color: #1d2433;}
.rag-library ul {margin: .35rem 0 0 0; padding-left: 1.1rem;}
.rag-library li {margin: 0 0 .3rem 0;}
.rag-library .rag-meta {color: #5b6475; font-size: .8rem;}
.rag-library code {font-size: .78rem; background: #eef1f7; padding: .05rem .3rem;
  border-radius: .25rem; color: #1d2433;}
.rag-found ul {margin: .1rem 0 .2rem 0; padding-left: 1.1rem; font-size: .85rem;
  color: #394150;}
.rag-found .rag-meta {color: #5b6475; font-size: .78rem;}
.rag-found code {font-size: .75rem; background: #eef1f7; padding: .05rem .3rem;
  border-radius: .25rem; color: #1d2433;}
.rag-chip {display: inline-block; padding: .15rem .6rem; border-radius: 1rem;
  background: #eef1f7; border: 1px solid #d6dbe6; font-size: .85rem; color: #1d2433;}
.rag-chip .rag-meta {color: #5b6475; font-size: .78rem;}
.rag-dot {display: inline-block; width: .55rem; height: .55rem; border-radius: 50%;
  margin-right: .35rem; vertical-align: middle;}
</style>
"""

# Our own script (no article or model text in it): bring the cited passage into view.
SCROLL_TO_PASSAGE = """
<script>
(function () {
  var tries = 0;
  function go() {
    var el = document.getElementById("rag-cited");
    if (el) { el.scrollIntoView({block: "center"}); return; }
    if (++tries < 50) { setTimeout(go, 100); }
  }
  go();
})();
</script>
"""


def text(value: object) -> str:
    """Any value as HTML text (quotes escaped too, so it is safe inside attributes)."""
    return html.escape(str(value), quote=True)


_MARKDOWN_ACTIVE = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>$~])")


def md(value: object) -> str:
    """Any value as literal text inside Streamlit markdown (alerts, captions)."""
    return _MARKDOWN_ACTIVE.sub(r"\\\1", str(value))


def code(value: object) -> str:
    """Any value as an inline code span inside Streamlit markdown."""
    return "`" + str(value).replace("`", "ˋ") + "`"


def badge(n: int, label: str = "", anchor: str | None = None) -> str:
    """A citation number as a superscript badge, linking to its source card when known."""
    sup = f'<sup class="rag-cite" title="{text(label)}">{n}</sup>'
    if anchor:
        return f'<a class="rag-cite-link" href="#{text(anchor)}">{sup}</a>'
    return sup


def _badges(escaped: str, labels: dict[int, str], anchor_prefix: str | None) -> str:
    def one(m: re.Match[str]) -> str:
        numbers = [int(x) for x in re.findall(r"\d+", m.group(1))]
        return "".join(
            badge(
                n,
                labels.get(n, f"source {n}"),
                f"{anchor_prefix}-{n}" if anchor_prefix and n in labels else None,
            )
            for n in numbers
        )

    return _MARKER.sub(one, escaped)


@dataclass(frozen=True)
class Mark:
    """A stretch of the answer to underline: start/end in the answer text."""

    start: int
    end: int
    kind: str  # "unsupported" | "uncited"


_MARK_TITLES = {
    "unsupported": "The cited passage does not support this sentence.",
    "uncited": "No passage supports this sentence.",
}


def sentence_marks(answer: str, sentences: Sequence[Any]) -> list[Mark]:
    """Where each unsupported sentence of ``answer`` is, found marker-blind.

    ``sentences`` are the library's ``Sentence`` objects: their text has no [n]
    markers, so the answer is searched with its markers taken out and the match
    mapped back onto the answer with its markers.
    """
    kept: list[int] = []  # answer index of each character of the marker-free text
    pos = 0
    for m in _STRIPPED_MARKER.finditer(answer):
        kept.extend(range(pos, m.start()))
        pos = m.end()
    kept.extend(range(pos, len(answer)))
    plain = "".join(answer[i] for i in kept)

    marks: list[Mark] = []
    cursor = 0
    for s in sentences:
        needle = str(getattr(s, "text", "")).strip()
        if not needle:
            continue
        at = plain.find(needle, cursor)
        if at < 0:
            continue
        cursor = at + len(needle)
        if getattr(s, "supported", True):
            continue
        kind = "unsupported" if getattr(s, "citations", None) else "uncited"
        start, end = kept[at], kept[cursor - 1] + 1
        # The markers right after the sentence's last word belong to it.
        while end < len(answer) and (m := _STRIPPED_MARKER.match(answer, end)):
            end = m.end()
        marks.append(Mark(start, end, kind))
    return marks


def answer_html(
    answer: str,
    labels: dict[int, str] | None = None,
    marks: Sequence[Mark] = (),
    anchor_prefix: str | None = None,
    cursor: bool = False,
) -> str:
    """The answer as HTML text for ``st.html``: escaped, [n] as badges, weak sentences underlined.

    No markdown is interpreted: an extractive answer quotes article text, and a link
    or image written in an article must stay text too.  ``labels`` maps a citation
    number to its badge's tooltip (the source).
    """
    labels = labels or {}
    out: list[str] = []
    pos = 0
    for mark in sorted(marks, key=lambda m: m.start):
        if mark.start < pos:
            continue
        out.append(_badges(text(answer[pos : mark.start]), labels, anchor_prefix))
        inner = _badges(text(answer[mark.start : mark.end]), labels, anchor_prefix)
        out.append(
            f'<span class="rag-{mark.kind}" title="{_MARK_TITLES[mark.kind]}">{inner}</span>'
        )
        pos = mark.end
    out.append(_badges(text(answer[pos:]), labels, anchor_prefix))
    caret = '<span class="rag-caret">▌</span>' if cursor else ""
    return f'<div class="rag-answer">{"".join(out).strip()}{caret}</div>'


def highlighted(body: str, start: int, end: int, css_class: str = "", element_id: str = "") -> str:
    """``body`` as HTML text with ``body[start:end]`` wrapped in a <mark>."""
    start = max(0, min(start, len(body)))
    end = max(start, min(end, len(body)))
    if end <= start:
        return text(body)
    attrs = (f' class="{css_class}"' if css_class else "") + (
        f' id="{element_id}"' if element_id else ""
    )
    return f"{text(body[:start])}<mark{attrs}>{text(body[start:end])}</mark>{text(body[end:])}"


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
        f'<li><span class="rag-title">{text(_shorten(p.title or p.source, 80))}</span> '
        f'<span class="rag-meta">· <code>{text(p.source)}</code></span></li>'
        for p in passages
    )
    return f'<div class="rag-found"><ul>{rows}</ul></div>'


def _shorten(value: str, limit: int) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1].rsplit(" ", 1)[0] + "…"


def article_body(
    body: str, start: int, end: int, quote_start: int | None, quote_end: int | None
) -> str:
    """The whole article as text, the passage tinted and its cited sentence marked."""
    start = max(0, min(start, len(body)))
    end = max(start, min(end, len(body)))
    passage = body[start:end]
    if quote_start is not None and quote_end is not None:
        inner = highlighted(passage, quote_start - start, quote_end - start)
    else:
        inner = text(passage)
    return (
        f'<div class="rag-article">{text(body[:start])}'
        f'<span class="rag-passage" id="rag-cited">{inner}</span>'
        f"{text(body[end:])}</div>"
    )


def dot(colour: str) -> str:
    return f'<span class="rag-dot" style="background:{text(colour)}"></span>'


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
