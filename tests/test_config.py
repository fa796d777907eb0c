"""Settings: a value the product cannot use is refused when they load, in one sentence."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import get_args

import pytest
from conftest import run_process

from rag.config import EmbeddedLLM, Settings, SettingsError, load_settings
from rag.errors import RagError
from rag.modelfiles import MODELS

REPO = Path(__file__).resolve().parents[1]
RAG = str(REPO / ".venv" / "bin" / "rag")
APP = REPO / "ui" / "app.py"


@pytest.mark.parametrize(
    ("command", "variable", "value", "sentence"),
    [
        (
            ["search", "ferry"],
            "RAG_RERANKER",
            "magic",
            "RAG_RERANKER=magic is not allowed; use one of: sentence, none, cross.",
        ),
        (
            ["search", "ferry"],
            "RAG_TOP_K",
            "-1",
            "RAG_TOP_K=-1 is not allowed; use a number of at least 1.",
        ),
        (
            ["status"],
            "RAG_LLM_TIMEOUT",
            "0",
            "RAG_LLM_TIMEOUT=0 is not allowed; use a number greater than 0.",
        ),
    ],
)
def test_a_bad_setting_is_one_sentence_from_the_real_cli(
    command: list[str], variable: str, value: str, sentence: str
) -> None:
    env = dict(os.environ)  # RAG_HOME is a temp dir (the autouse fixture)
    env[variable] = value

    result = run_process([RAG, *command], env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert result.stderr.splitlines() == [f"Error: {sentence}"]


def test_a_value_of_the_wrong_kind_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_CHUNK_CHARS", "lots")

    with pytest.raises(SettingsError) as error:
        load_settings()
    message = str(error.value)
    assert message.startswith("RAG_CHUNK_CHARS=lots is not allowed; input should be")
    assert "\n" not in message and message.endswith(".")


def test_settings_errors_are_user_errors() -> None:
    with pytest.raises(RagError):
        load_settings(chunk_chars=10)  # rag.chunking cannot cut chunks under 50 characters
    with pytest.raises(ValueError, match=r"RAG_LLM_PORT=70000 .* at most 65535"):
        load_settings(llm_port=70000)


def test_good_values_load() -> None:
    s = load_settings(reranker=" None ", embedded_llm="smollm2-135m", llm_port=0)
    assert (s.reranker, s.embedded_llm) == ("none", "smollm2-135m")
    assert load_settings().reranker == "sentence"


def test_embedded_llm_choices_are_the_packaged_models() -> None:
    assert set(get_args(EmbeddedLLM)) == set(MODELS)
    assert Settings.model_fields["embedded_llm"].default in MODELS


def test_the_page_shows_a_bad_setting_as_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("RAG_RERANKER", "magic")

    at = AppTest.from_file(str(APP), default_timeout=60).run()

    assert not at.exception
    shown = [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]  # drop markdown escapes
    assert shown == [
        "RAG_RERANKER=magic is not allowed; use one of: sentence, none, cross. "
        "Fix it and reload the page."
    ]


def test_today_can_be_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().today is None
    assert load_settings().current_date == date.today()

    monkeypatch.setenv("RAG_TODAY", "2026-11-30")
    assert load_settings().current_date == date(2026, 11, 30)

    monkeypatch.setenv("RAG_TODAY", "")  # cleared by a script: the real date
    assert load_settings().today is None


@pytest.mark.parametrize("value", ["yesterday", "2026-02-30", "30/11/2026", "1764460800"])
def test_a_bad_today_is_one_sentence(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("RAG_TODAY", value)

    with pytest.raises(SettingsError) as error:
        load_settings()
    assert (
        str(error.value) == f"RAG_TODAY={value} is not allowed; use a date in the form YYYY-MM-DD."
    )
