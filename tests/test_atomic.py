"""The one atomic writer that uploads and fetched articles share."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.atomic import write_atomic


def test_write_replaces_in_one_step_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "a.md"
    write_atomic(target, b"first")
    write_atomic(target, b"second", prefix=".fetch-")
    assert target.read_bytes() == b"second"
    assert [p.name for p in tmp_path.iterdir()] == ["a.md"]
    assert target.stat().st_mode & 0o777 == 0o644


def test_no_overwrite_keeps_the_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "a.md"
    target.write_bytes(b"mine")
    with pytest.raises(FileExistsError):
        write_atomic(target, b"theirs", overwrite=False)
    assert target.read_bytes() == b"mine"
    assert [p.name for p in tmp_path.iterdir()] == ["a.md"]
    write_atomic(tmp_path / "b.md", b"new", overwrite=False)
    assert (tmp_path / "b.md").read_bytes() == b"new"


def test_a_folder_that_is_gone_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        write_atomic(tmp_path / "missing" / "a.md", b"x")
