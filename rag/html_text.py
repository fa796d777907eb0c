"""HTML files: the page's visible main text, its title and the news metadata in its markup.

Scripts, styles and navigation are dropped; block elements end a line, inline
markup does not.  ``rag.documents.load`` calls this for ``.html`` and ``.htm`` files.
"""

from __future__ import annotations

import re

from rag.documents import first_line
from rag.html_meta import from_html
from rag.metadata import ArticleMeta, parse_date

_BLOCK_MARK = "\ue000"  # a private-use character: never in real text
_BLOCK_TAGS = [
    "p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6",
    "li", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre", "figure", "figcaption",
    "table", "tr", "td", "th", "caption", "hr", "address", "details", "summary",
]  # fmt: skip


def html_article(raw: str) -> tuple[str, str, ArticleMeta]:
    """Visible main text, title and news metadata of an HTML page."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    news = from_html(raw, soup)
    if news.published is None and (tag := soup.find("time")) and tag.get("datetime"):
        news = news.filled_from(ArticleMeta(published=parse_date(str(tag["datetime"]))))
    for tag in soup(["script", "style", "noscript", "template", "iframe", "svg", "head"]):
        tag.decompose()
    for tag in soup(["nav", "header", "footer", "aside", "form"]):
        tag.decompose()
    body = soup.find("article") or soup.find("main") or soup.body or soup
    # Line breaks in HTML source are just spaces; block elements are what end a line.
    # Inline markup (<b>, <a>, <span>) must not cut a sentence in two.
    for tag in body.find_all(_BLOCK_TAGS):
        tag.insert_before(_BLOCK_MARK)
        tag.insert_after(_BLOCK_MARK)
    for tag in body.find_all("br"):
        tag.replace_with(_BLOCK_MARK)
    flat = re.sub(r"\s+", " ", body.get_text())
    text = "\n".join(b.strip() for b in flat.split(_BLOCK_MARK) if b.strip())
    if not title:
        title = first_line(text)
    return text, title, news
