"""Web page -> article file: the main text and its metadata saved as Markdown.

``rag add URL`` (and every feed entry ``rag sync`` finds) ends here.  The page is
fetched (``rag.fetching``: every limit and address check), its main text and
metadata (title, author, date, outlet, canonical URL) are extracted with
trafilatura, and the article is written into the articles folder as Markdown with
YAML front matter, which ``rag.documents`` reads back for the title and date.

The file is named ``<date>-<slug>.md`` (the article's date, or the day it was
fetched).  The same URL twice is one file: a page already in the folder (found by
the ``url`` or ``source_url`` in its front matter, so nothing else needs to be kept
in step with the folder) is rewritten in place, under its first name.  Every write
is atomic (a hidden temp file, then a rename), so the indexer never reads half an
article, and a page that extracts to nothing (a paywall, a login or a cookie wall,
a page built by scripts) is reported and never saved.
"""

from __future__ import annotations

import contextlib
import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from rag import atomic
from rag.config import Settings
from rag.documents import DocumentError, iter_files
from rag.errors import RagError
from rag.fetching import FEED_TYPES, HTML_TYPES, PDF_TYPES, Fetched, fetch, shown
from rag.front_matter import front_matter
from rag.metadata import parse_date
from rag.pdf_text import pdf_pages

# Less main text than this is a teaser, a login or a consent wall, not an article.
MIN_ARTICLE_CHARS = 200
_SLUG_CHARS = 60
# A feed is fetched too, only to say it is one (text/plain is no sign of a feed).
_ADDABLE = HTML_TYPES | PDF_TYPES | (FEED_TYPES - {"text/plain"})


class ClippingError(RagError):
    """A page gave no article to save; the message is one sentence naming the fix."""


@dataclass(frozen=True)
class Article:
    """What a page holds worth keeping: the main text and what is known about it."""

    url: str  # canonical when the page names one, else the address it was fetched from
    title: str
    text: str  # paragraphs separated by blank lines
    author: str | None = None
    published: str | None = None  # ISO date
    outlet: str | None = None
    source_url: str | None = None  # the address asked for, when it differs from url


@dataclass(frozen=True)
class Saved:
    url: str
    path: str  # inside the articles folder, forward slashes (as the indexer names it)
    state: str  # "new", "updated" (same URL, new text) or "unchanged"


@dataclass
class AddReport:
    added: list[Saved] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)

    @property
    def changed(self) -> bool:
        return any(s.state != "unchanged" for s in self.added)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": [{"url": s.url, "path": s.path, "state": s.state} for s in self.added],
            "skipped": [{"url": u, "reason": r} for u, r in self.skipped],
        }


def add_urls(
    settings: Settings,
    urls: Iterable[str],
    progress: Callable[[int, int, str], None] | None = None,
) -> AddReport:
    """Fetch each page, extract its article and save it into the articles folder.

    A URL that fails is reported in ``skipped`` with one sentence and the others go
    on; nothing already in the folder is touched by a failure.  ``progress(done,
    total, message)`` hears of each URL.  Indexing is the caller's next step
    (``rag.indexer.run``), as after any change to the folder.
    """
    folder = articles_folder(settings)
    known = known_urls(folder)
    report = AddReport()
    asked = {_key(u): u.strip() for u in reversed(list(urls)) if u.strip()}  # first wins
    for done, url in enumerate(reversed(asked.values())):
        if progress:
            progress(done, len(asked), f"fetching {url}")
        try:
            page = fetch(url, settings, _ADDABLE, what="a web page (HTML) or a PDF")
            if page.content_type in FEED_TYPES:
                raise ClippingError(
                    f"{shown(url)} is a feed, not an article; follow it with rag feed add "
                    "and fetch its articles with rag sync."
                )
            if page.content_type in PDF_TYPES:
                report.added.append(save_pdf(settings, folder, page))
            else:
                report.added.append(save(folder, extract(page), known))
        except RagError as exc:
            report.skipped.append((url, str(exc)))
    return report


def articles_folder(settings: Settings) -> Path:
    folder = Path(settings.articles_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ClippingError(
            f"Cannot use the articles folder {folder} ({exc.strerror}); "
            "check RAG_ARTICLES_DIR and its permissions."
        ) from None
    return folder


def extract(page: Fetched, fallback_title: str | None = None) -> Article:
    """The page's article; ClippingError if it holds no article text worth saving."""
    import trafilatura

    doc = trafilatura.bare_extraction(
        page.body,
        url=page.final_url,
        with_metadata=True,
        include_comments=False,
        # Dates from the page's metadata and markup only: the wider search takes a
        # footer's "Copyright 2024" for the publication date.
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    text = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    title = _one_line(getattr(doc, "title", None) or fallback_title or "")
    return article_from_text(
        text,
        url=_canonical(getattr(doc, "url", None), page.final_url),
        asked=page.url,
        title=title,
        author=getattr(doc, "author", None),
        published=getattr(doc, "date", None),
        outlet=getattr(doc, "sitename", None),
    )


def article_from_text(
    text: str,
    *,
    url: str,
    asked: str,
    title: str,
    author: str | None = None,
    published: str | None = None,
    outlet: str | None = None,
) -> Article:
    """An Article from extracted text, or ClippingError when there is too little of it."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if lines and title and lines[0].casefold() == title.casefold():
        lines = lines[1:]  # the headline is written once, as the Markdown heading
    body = "\n\n".join(lines)
    if len(body) < MIN_ARTICLE_CHARS:
        raise ClippingError(
            f"No article text was found at {shown(asked)} (a paywall, a login page or a page "
            "built by scripts); save it from your browser and upload the file instead."
        )
    return Article(
        url=url,
        title=title or _title_from_url(url),
        text=body,
        author=_one_line(author or "") or None,
        published=parse_date(published or ""),
        outlet=_one_line(outlet or "") or None,
        source_url=None if _same_url(asked, url) else asked,
    )


def markdown(article: Article, fetched: datetime | None = None) -> str:
    """The article as Markdown with YAML front matter (values JSON-quoted: valid YAML)."""
    fields: dict[str, str | None] = {
        "title": article.title,
        "author": article.author,
        "date": article.published,
        "outlet": article.outlet,
        "url": article.url,
        "source_url": article.source_url,
        "fetched": (fetched or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    head = "\n".join(
        f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in fields.items() if value
    )
    return f"---\n{head}\n---\n\n# {article.title}\n\n{article.text}\n"


def save(folder: Path, article: Article, known: dict[str, Path]) -> Saved:
    """Write ``article`` into ``folder``: its earlier file if the URL is known, else a new name.

    ``known`` (from ``known_urls``) is updated, so one run never writes a URL twice.
    """
    existing = next(
        (known[u] for u in (_key(article.url), _key(article.source_url or "")) if u in known),
        None,
    )
    target = existing or _free_name(folder, article)
    state = "new"
    if existing is not None:
        old = _read_text(existing)
        if "fetched" not in front_matter(old):
            # A file the user wrote that names this URL: theirs, never overwritten.
            raise ClippingError(
                f"{shown(article.source_url or article.url)} is already in the articles folder "
                f"as {existing.relative_to(folder).as_posix()}, which rag add did not write, so "
                "it is left as it is (move it away to fetch the page again)."
            )
        earlier = front_matter(old).get("source_url")
        if earlier and not article.source_url and not _same_url(earlier, article.url):
            article = replace(article, source_url=earlier)  # still found by either address
        # The fetch time always differs: compare what the article says, not when.
        new_text = _comparable(markdown(article))
        state = "unchanged" if _comparable(old) == new_text else "updated"
    text = markdown(article)
    if state != "unchanged":
        write_atomic(target, text.encode("utf-8"))
    for url in (article.url, article.source_url):
        if url:
            known[_key(url)] = target
    return Saved(article.source_url or article.url, target.relative_to(folder).as_posix(), state)


def save_pdf(settings: Settings, folder: Path, page: Fetched) -> Saved:
    """Keep a fetched PDF as it is (the indexer reads its pages), named like an article.

    A PDF has no front matter to remember its address by, so the addresses of saved
    PDFs are kept in RAG_HOME/fetched-pdfs.json; the same URL again is the same file.
    """
    try:
        _pages, info = pdf_pages(page.body)
    except DocumentError as exc:
        reason, _, fix = str(exc).partition("; ")
        raise ClippingError(f"{shown(page.url)} is an unusable {reason}; {fix}.") from None
    if len(page.body) > settings.max_file_bytes:
        raise ClippingError(
            f"{shown(page.url)} is a PDF of {len(page.body):,} bytes, more than the indexer "
            f"takes ({settings.max_file_bytes:,}); raise RAG_MAX_FILE_BYTES to add it."
        )
    manifest_path = Path(settings.home) / "fetched-pdfs.json"
    manifest: dict[str, str] = {}
    with contextlib.suppress(OSError, ValueError):
        manifest = dict(json.loads(manifest_path.read_text(encoding="utf-8")))
    keys = [_key(page.url), _key(page.final_url)]
    earlier = next((folder / manifest[k] for k in keys if k in manifest), None)
    if earlier is not None and earlier.is_file():
        target = earlier
        state = "unchanged" if earlier.read_bytes() == page.body else "updated"
    else:
        title = info.get("title") or _title_from_url(page.final_url)
        article = Article(page.final_url, title, "", published=info.get("date"))
        target = _free_name(folder, article, ".pdf")
        state = "new"
    if state != "unchanged":
        write_atomic(target, page.body)
    source = target.relative_to(folder).as_posix()
    manifest.update({k: source for k in keys})
    with contextlib.suppress(OSError):  # write_atomic says what is wrong with the folder
        manifest_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(manifest_path, json.dumps(manifest, indent=1).encode("utf-8"))
    return Saved(page.url, source, state)


def known_urls(folder: Path) -> dict[str, Path]:
    """Article files already in the folder by the URLs in their front matter."""
    found: dict[str, Path] = {}
    for entry in iter_files(folder):
        if entry.path.suffix.lower() not in (".md", ".markdown"):
            continue
        with contextlib.suppress(OSError, UnicodeDecodeError):
            with entry.path.open("rb") as f:
                head = f.read(8192).decode("utf-8", errors="ignore")
            meta = front_matter(head)
            for key in ("url", "source_url"):
                if meta.get(key):
                    found.setdefault(_key(meta[key]), entry.path)
    return found


def write_atomic(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data`` in one rename (rag.atomic); ClippingError if not."""
    try:
        atomic.write_atomic(target, data, prefix=".fetch-")
    except OSError as exc:
        raise ClippingError(
            f"Cannot write {target.name} into {target.parent} ({exc.strerror}); "
            "check the folder's permissions and free space."
        ) from None


def slug(text: str) -> str:
    """``text`` as a short lower-case ASCII file-name part: words joined by hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    out = ""
    for word in words:
        if len(out) + len(word) + 1 > _SLUG_CHARS:
            break
        out = f"{out}-{word}" if out else word
    return out or (words[0][:_SLUG_CHARS] if words else "")


def _free_name(folder: Path, article: Article, suffix: str = ".md") -> Path:
    day = article.published or datetime.now(UTC).date().isoformat()
    stem = f"{day}-{slug(article.title) or slug(_title_from_url(article.url)) or 'article'}"
    target = folder / f"{stem}{suffix}"
    n = 2
    while target.exists():  # another article with the same date and title
        target = folder / f"{stem}-{n}{suffix}"
        n += 1
    return target


def _read_text(path: Path) -> str:
    with contextlib.suppress(OSError):
        return path.read_text(encoding="utf-8", errors="replace")
    return ""


def _comparable(text: str) -> str:
    return re.sub(r"(?m)^(fetched|source_url): .*\n", "", text)


def _key(url: str) -> str:
    """A URL as compared for "the same page": no fragment, host in lower case."""
    if not url:
        return ""
    with contextlib.suppress(httpx.InvalidURL, ValueError, TypeError):
        return str(httpx.URL(url.strip()).copy_with(fragment=None))
    return url.strip()


def _same_url(a: str, b: str) -> bool:
    return _key(a) == _key(b)


def _canonical(named: str | None, fetched: str) -> str:
    # A page may name its canonical address; only a full http(s) one is trusted.
    if named and named.startswith(("http://", "https://")):
        return named
    return fetched


def _title_from_url(url: str) -> str:
    with contextlib.suppress(httpx.InvalidURL, ValueError, TypeError):
        parsed = httpx.URL(url)
        last = [p for p in parsed.path.split("/") if p]
        name = last[-1] if last else parsed.host
        return re.sub(r"\.\w{2,5}$", "", name).replace("-", " ").replace("_", " ")
    return "article"


def _one_line(value: str) -> str:
    return " ".join(str(value).split())[:300]
