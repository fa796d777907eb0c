"""Saving an uploaded article into the articles folder, safely.

An upload's name comes from a browser (or any caller) and is not trusted: only its
last path component is kept, reduced to a plain file name, so ``../../x.txt``,
``/etc/passwd.txt`` and ``C:\\Users\\x.md`` all land *inside* the folder.  An
existing article is never overwritten unless the caller asked to replace it, and
the write is atomic, so the indexer never reads a half-written file.  The content
must be text the indexer can read, within the same size limit.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rag.atomic import write_atomic
from rag.documents import SUPPORTED_SUFFIXES, DocumentError, decode
from rag.errors import RagError
from rag.pdf_text import pdf_pages

MAX_NAME_CHARS = 120
_UNSAFE = re.compile(r"[^\w.\- ()]+", re.UNICODE)


class UploadError(RagError):
    """The upload cannot be saved; the message is one sentence naming the fix."""


class UploadConflict(UploadError):
    """An article with the same name exists and the caller did not ask to replace it."""

    def __init__(self, name: str, path: Path) -> None:
        super().__init__(
            f"An article named {name} already exists; choose to replace it, "
            "or rename the file and upload it again."
        )
        self.name = name
        self.path = path


@dataclass(frozen=True)
class SavedUpload:
    path: Path
    source: str  # the name inside the articles folder, as the indexer reports it
    original_name: str  # the name the upload came with
    replaced: bool  # an older file of that name was overwritten
    unchanged: bool  # the same content was already there; nothing was written

    @property
    def renamed(self) -> bool:
        return self.source != self.original_name


def safe_name(name: str) -> str:
    """A plain file name for ``name``: no folders, no hidden files, no odd characters.

    Raises UploadError when nothing usable is left or the type is not an article.
    """
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = _UNSAFE.sub("_", base).strip(" ._")  # also drops leading dots: hidden files
    base = re.sub(r"\s+", " ", base)
    stem, dot, suffix = base.rpartition(".")
    if not dot or not stem.strip(" ._"):
        raise UploadError(f"{_shown(name)} has no usable file name; {_allowed_hint()}")
    suffix = "." + suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UploadError(f"{_shown(name)} is not an article file; {_allowed_hint()}")
    stem = stem[: MAX_NAME_CHARS - len(suffix)].rstrip(" ._")
    return stem + suffix


def save_upload(
    folder: Path,
    name: str,
    data: bytes,
    *,
    replace: bool = False,
    max_bytes: int = 5_000_000,
) -> SavedUpload:
    """Write ``data`` as an article named after ``name`` inside ``folder``.

    Raises UploadConflict if a different file of that name exists and ``replace``
    is false, and UploadError for anything else the user must fix.
    """
    target_name = safe_name(name)
    if not data:
        raise UploadError(f"{_shown(name)} is empty; upload a file with text in it.")
    if len(data) > max_bytes:
        raise UploadError(
            f"{_shown(name)} is too large ({len(data):,} bytes > {max_bytes:,}); "
            "split it or raise RAG_MAX_FILE_BYTES."
        )
    if target_name.lower().endswith(".pdf"):
        try:
            pdf_pages(data)  # an encrypted or scanned PDF is refused now, not at indexing
        except DocumentError as exc:
            reason, _, fix = str(exc).partition("; ")
            raise UploadError(f"{_shown(name)} cannot be used ({reason}); {fix}.") from None
    else:
        try:
            decode(data)
        except DocumentError as exc:
            reason = str(exc).split(";")[0]
            raise UploadError(
                f"{_shown(name)} cannot be used ({reason}); "
                "upload it as UTF-8 text, Markdown, HTML or PDF."
            ) from None

    try:
        folder.mkdir(parents=True, exist_ok=True)
        root = folder.resolve(strict=True)
    except OSError as exc:
        raise UploadError(
            f"Cannot use the articles folder {folder} ({exc.strerror}); "
            "check RAG_ARTICLES_DIR and its permissions."
        ) from None
    target = root / target_name
    if target.is_symlink() or target.resolve().parent != root:
        raise UploadError(
            f"{target_name} in the articles folder is a link to somewhere else; "
            "remove the link or rename the file."
        )
    if target.exists() and not target.is_file():
        raise UploadError(f"{target_name} in the articles folder is not a file; rename the upload.")

    existed = target.exists()
    if existed:
        with contextlib.suppress(OSError):
            if target.read_bytes() == data:
                return SavedUpload(target, target_name, name, replaced=False, unchanged=True)
        if not replace:
            raise UploadConflict(target_name, target)

    try:
        write_atomic(target, data, overwrite=replace, prefix=".upload-")
    except FileExistsError:
        raise UploadConflict(target_name, target) from None
    except OSError as exc:
        raise UploadError(
            f"Cannot write {target_name} into {folder} ({exc.strerror}); "
            "check the folder's permissions and free space."
        ) from None
    return SavedUpload(target, target_name, name, replaced=existed, unchanged=False)


def _shown(name: str) -> str:
    name = " ".join((name or "").split())
    return repr(name[:80] + ("…" if len(name) > 80 else "")) if name else "The upload"


def _allowed_hint() -> str:
    return "upload a " + ", ".join(SUPPORTED_SUFFIXES) + " file."
