"""Uploads land inside the articles folder, under a safe name, never overwriting silently."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag import indexer
from rag.config import Settings
from rag.documents import SUPPORTED_SUFFIXES, iter_files
from rag.uploads import UploadConflict, UploadError, safe_name, save_upload

TEXT = b"Harbour news\nThe ferry to the island resumed service on Monday after repairs.\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    f = tmp_path / "articles"
    f.mkdir()
    return f


def inside(folder: Path) -> set[Path]:
    return {p.resolve() for p in folder.parent.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.txt", "report.txt"),
        ("../../x.txt", "x.txt"),
        ("/etc/cron.d/evil.md", "evil.md"),
        ("C:\\Users\\me\\Desktop\\story.HTML", "story.html"),
        ("..\\..\\win.txt", "win.txt"),
        (".hidden.txt", "hidden.txt"),
        ("my story: part 1?.txt", "my story_ part 1.txt"),
        ("news\x00\n.txt", "news.txt"),
        ("Überschrift café.md", "Überschrift café.md"),
    ],
)
def test_safe_name_keeps_only_a_plain_file_name(name: str, expected: str) -> None:
    assert safe_name(name) == expected


@pytest.mark.parametrize(
    "name", ["", "..", "../", "/", ".txt", "...txt", "notes", "a.docx", "x.exe"]
)
def test_safe_name_refuses_names_without_a_usable_article_name(name: str) -> None:
    with pytest.raises(UploadError) as err:
        safe_name(name)
    assert ".txt" in str(err.value)  # the message names what would work


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=300))
def test_safe_name_never_names_a_path(name: str) -> None:
    try:
        result = safe_name(name)
    except UploadError:
        return
    assert "/" not in result and "\\" not in result
    assert not result.startswith(".")
    assert result not in (".", "..")
    assert result.endswith(SUPPORTED_SUFFIXES)
    assert len(result) <= 120


def test_hostile_names_land_inside_the_folder(folder: Path) -> None:
    outside_before = inside(folder)
    for name in ("../../x.txt", "/tmp/abs.txt", "..\\up.md", "sub/dir/deep.html"):
        saved = save_upload(folder, name, TEXT)
        assert saved.path.parent == folder.resolve()
        assert saved.path.read_bytes() == TEXT
        assert saved.renamed
    created = inside(folder) - outside_before
    assert {p.name for p in created} == {"x.txt", "abs.txt", "up.md", "deep.html"}
    assert all(p.parent == folder.resolve() for p in created)
    assert not (folder.parent.parent / "x.txt").exists()


def test_existing_article_is_not_overwritten_without_asking(folder: Path) -> None:
    save_upload(folder, "story.txt", TEXT)
    newer = TEXT + b"Update: the timetable changed.\n"
    with pytest.raises(UploadConflict) as err:
        save_upload(folder, "story.txt", newer)
    assert "already exists" in str(err.value) and "replace" in str(err.value)
    assert (folder / "story.txt").read_bytes() == TEXT

    saved = save_upload(folder, "story.txt", newer, replace=True)
    assert saved.replaced and not saved.unchanged
    assert (folder / "story.txt").read_bytes() == newer


def test_same_content_again_is_no_conflict(folder: Path) -> None:
    save_upload(folder, "story.txt", TEXT)
    again = save_upload(folder, "story.txt", TEXT)
    assert again.unchanged and not again.replaced


def test_no_temp_files_are_left_behind(folder: Path) -> None:
    save_upload(folder, "a.txt", TEXT)
    save_upload(folder, "a.txt", TEXT + b"more\n", replace=True)
    with pytest.raises(UploadConflict):
        save_upload(folder, "a.txt", TEXT + b"other\n")
    assert sorted(os.listdir(folder)) == ["a.txt"]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02binary\x00" * 50, "binary"),
        (b"x" * 2_000, "too large"),
    ],
)
def test_bad_content_is_refused_with_one_sentence(folder: Path, data: bytes, words: str) -> None:
    with pytest.raises(UploadError) as err:
        save_upload(folder, "bad.txt", data, max_bytes=1_000)
    message = str(err.value)
    assert words in message
    assert "\n" not in message and message.endswith(".")
    assert not (folder / "bad.txt").exists()


def test_a_link_planted_in_the_folder_is_not_followed(folder: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch")
    (folder / "planted.txt").symlink_to(victim)
    with pytest.raises(UploadError) as err:
        save_upload(folder, "planted.txt", TEXT, replace=True)
    assert "link" in str(err.value)
    assert victim.read_text() == "do not touch"


def test_uploaded_article_is_indexed(folder: Path, rag_env: Path, embedder) -> None:
    s = Settings(home=rag_env, articles_dir=folder)
    saved = save_upload(folder, "../../harbour.txt", TEXT)
    report = indexer.run(s, embedder=embedder)
    assert report.added_files == [saved.source] == ["harbour.txt"]
    assert [e.source for e in iter_files(folder)] == ["harbour.txt"]


def test_a_pdf_upload_is_checked_before_it_is_saved(folder: Path) -> None:
    from pdfs import encrypted, image_only_pdf, text_pdf

    pdf = text_pdf([["The harbour of Testville reopened on Tuesday after the storm."]])
    saved = save_upload(folder, "report.pdf", pdf)
    assert saved.path.read_bytes() == pdf
    for name, data, reason in [
        ("scan.pdf", image_only_pdf(), "PDF without a text layer (a scan or images only)"),
        ("locked.pdf", encrypted(pdf), "encrypted PDF that needs a password"),
    ]:
        with pytest.raises(UploadError) as err:
            save_upload(folder, name, data)
        assert str(err.value).startswith(f"'{name}' cannot be used ({reason}); ")
        assert str(err.value).endswith(".") and not (folder / name).exists()
