"""Writing a file in the articles folder so no reader ever sees half of it.

The data goes into a hidden temp file beside the target (the indexer and the
watcher skip dot-files), is flushed to disk, then takes the target's name in one
step: a rename that replaces, or, when an existing file must never be replaced, a
hard link that fails if the name is taken (checked atomically by the kernel).
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path


def write_atomic(target: Path, data: bytes, *, overwrite: bool = True, prefix: str = ".") -> None:
    """Give ``target`` the content ``data`` in one step.

    With ``overwrite=False`` an existing ``target`` is left alone and
    FileExistsError raised.  Other failures raise OSError; the temp file never stays.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        if overwrite:
            os.replace(tmp, target)
        else:
            _link_new(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _link_new(tmp: Path, target: Path) -> None:
    """Give ``tmp`` the name ``target`` unless that name exists."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        # No hard links on this file system: a check then a rename, almost as good.
        if target.exists():
            raise FileExistsError(errno.EEXIST, "File exists", str(target)) from None
        os.replace(tmp, target)
