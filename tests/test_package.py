"""The library's front door: `import rag` names the public surface and stays light."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import rag


def test_every_public_name_is_the_object_in_its_module() -> None:
    assert set(rag.__all__) == {"__version__", *rag._EXPORTS}
    for name, (module, attribute) in rag._EXPORTS.items():
        assert getattr(rag, name) is getattr(importlib.import_module(module), attribute)
    assert set(rag.__all__) <= set(dir(rag))
    assert rag.index is importlib.import_module("rag.indexer").run


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = rag.nope  # type: ignore[attr-defined]


def test_import_rag_loads_no_heavy_library() -> None:
    # The CLI starts with `import rag`: torch, chromadb, pydantic and the openai client
    # are loaded when a public name is first used, never before.
    heavy = ("torch", "chromadb", "pydantic", "openai", "sentence_transformers")
    code = "import sys, rag; print(' '.join(m for m in sys.modules if m.split('.')[0] in %r))"
    out = subprocess.run(
        [sys.executable, "-c", code % (heavy,)], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == []
