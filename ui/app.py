"""The chat page: ask the articles, read the answer as it is written, open every source.

A thin layer over the ``rag`` library (run it with ``rag ui``): retrieval, answering,
citation checking, indexing, uploads and the LLM's lifecycle all live in ``rag/``;
this file only lays them out.  Article and model text is shown as text: it is
escaped (``ui/render.py``) before it reaches any HTML.
"""

from __future__ import annotations

import logging
import sys
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run ui/app.py` puts only ui/ on the path
    sys.path.insert(0, str(ROOT))

from rag import eval_metrics, indexer  # noqa: E402
from rag import llm as llm_lib  # noqa: E402
from rag.config import Settings, SettingsError, load_settings  # noqa: E402
from rag.documents import SUPPORTED_SUFFIXES, DocumentError, FileEntry, load  # noqa: E402
from rag.embeddings import Embedder  # noqa: E402
from rag.errors import RagError  # noqa: E402
from rag.store import Store  # noqa: E402
from rag.uploads import UploadConflict, UploadError, save_upload  # noqa: E402
from ui import chats_panel, render, sources_panel  # noqa: E402

log = logging.getLogger("rag.ui")

TITLE = "Ask the articles"
STATE_COLOURS = {
    "ready": "#1a7f37",
    "starting": "#d9822b",
    "not started": "#8a94a6",
    "unreachable": "#cf222e",
}


# --- settings and cached heavy objects ---------------------------------------------


def settings_key(settings: Settings) -> str:
    return settings.model_dump_json()


@st.cache_resource(show_spinner="Loading the embedding model (first start only)…")
def embedder(name: str, batch_size: int) -> Embedder:
    model = Embedder(name, batch_size)
    _ = model.model  # load now, under the spinner, not in the middle of the first question
    return model


@st.cache_resource(show_spinner=False, hash_funcs={Settings: settings_key})
def answerer(settings: Settings) -> Any:
    from rag.answering import Answerer
    from rag.retrieval import Retriever

    shared = embedder(settings.embedding_model, settings.embedding_batch_size)
    return Answerer(settings, retriever=Retriever(settings, embedder=shared))


@dataclass
class Warmup:
    """The embedded LLM being started in the background, so the first answer is quick."""

    error: str | None = None
    done: bool = False


@st.cache_resource(show_spinner=False, hash_funcs={Settings: settings_key})
def llm_warmup(settings: Settings) -> Warmup:
    warm = Warmup()
    if settings.llm_base_url:
        warm.done = True
        return warm

    def start() -> None:
        try:
            llm_lib.ensure_server(settings)
        except Exception as exc:  # shown in the sidebar; answers fall back meanwhile
            warm.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.warning("embedded LLM did not start: %s", warm.error)
        finally:
            warm.done = True

    threading.Thread(target=start, name="rag-llm-warmup", daemon=True).start()
    return warm


# --- the page ------------------------------------------------------------------------


def main() -> None:
    st.set_page_config(page_title=TITLE, page_icon=":material/newspaper:", layout="centered")
    st.html(render.CSS)
    try:
        settings = load_settings()
    except SettingsError as exc:  # one sentence naming the variable and the allowed values
        st.error(f"{render.md(exc)} Fix it and reload the page.")
        st.stop()

    params = st.query_params
    if params.get("article"):
        article_view(settings, params)
        return

    state = st.session_state
    state.setdefault("messages", [])
    state.setdefault("activity", [])  # what the last re-index or upload did
    state.setdefault("uploader", 0)
    state.setdefault("conflicts", {})

    # The saved chats top the sidebar but are drawn last, so a chat this run saves is listed.
    chats_slot = st.sidebar.container()
    chats_panel.restore(settings)
    status = sidebar(settings)
    chat(settings, status)
    with chats_slot:
        chats_panel.panel(settings)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].rstrip(".") if text else type(exc).__name__


# --- sidebar ---------------------------------------------------------------------------


def sidebar(settings: Settings) -> indexer.Status | None:
    with st.sidebar:
        st.markdown("### :material/library_books: Articles")
        try:
            status = indexer.status(settings)
        except RagError as exc:
            st.error(render.md(exc))
            status = None
        if status is not None:
            index_panel(settings, status)
        upload_panel(settings)
        sources_panel.link_panel(settings, reindex)
        sources_panel.feeds_panel(settings, reindex)
        for kind, message in st.session_state.activity:
            getattr(st, kind)(message)
        st.divider()
        llm_panel(settings, warm_up=bool(status and status.documents))
        st.divider()
        st.markdown("### :material/tune: Answering")
        st.slider(
            "Passages per answer (top-k)",
            min_value=1,
            max_value=10,
            value=min(max(settings.top_k, 1), 10),
            key="top_k",
            help="How many retrieved passages the LLM reads for each question.",
        )
        dates_panel()
        if st.button("Clear chat", icon=":material/delete_sweep:", width="stretch"):
            chats_panel.new_chat()  # the saved chat stays in the list
            st.rerun()
        st.divider()
        eval_panel(settings)
    return status


EVAL_SHOWN = eval_metrics.ON_PAGE  # (name, title): the registry marks what the page shows


def dates_panel() -> None:
    """Published-date bounds for every question (empty: time words in the question decide)."""
    left, right = st.columns(2)
    left.date_input("Published from", value=None, key="date_from", format="YYYY-MM-DD")
    right.date_input("Published to", value=None, key="date_to", format="YYYY-MM-DD")


def chosen_filters() -> Any:
    """The sidebar's date bounds as retrieval filters (None when neither is set); bounds
    given the wrong way round are swapped rather than refused."""
    from rag.retrieval import Filters

    bounds = [st.session_state.get("date_from"), st.session_state.get("date_to")]
    if not any(bounds):
        return None
    if all(bounds) and bounds[0] > bounds[1]:
        bounds.reverse()
    after, before = (b.isoformat() if b else None for b in bounds)
    return Filters.parse(after=after, before=before)


def eval_panel(settings: Settings) -> None:
    """How far the citations can be trusted: the latest `rag eval` run's headline numbers."""
    from rag import eval_report
    from rag.evaluation import EvalError

    st.markdown("### :material/fact_check: Citation accuracy")
    path = eval_report.latest_results(settings)
    try:
        saved = _eval_summary(str(path), path.stat().st_mtime) if path else None
    except (EvalError, OSError) as exc:
        st.caption(render.md(exc))
        return
    if not saved:
        st.caption("No evaluation yet: run `rag eval --report DIR` to measure the citations.")
        return
    totals = saved["totals"]
    rows = "".join(
        f"<li>{label}: <b>{totals[name]:.2f}</b></li>"
        for name, label in EVAL_SHOWN
        if isinstance(totals.get(name), int | float)
    )
    st.html(f'<ul class="rag-eval">{rows}</ul>')
    st.caption(
        render.md(
            f"{saved.get('suite', '?')} suite, {totals.get('n', '?')} questions, "
            f"{str(saved.get('started', ''))[:10]} · `rag eval` to measure again"
        )
    )


@st.cache_data(max_entries=4, show_spinner=False)
def _eval_summary(path: str, mtime: float) -> dict[str, object]:
    """Suite, start and totals of a saved run, parsed once per file version (a seed run's
    results.json holds every answer: too big to re-read on each rerun of the page)."""
    from rag import eval_report

    saved = eval_report.load_results(Path(path))
    return {
        key: saved.get(key, default)
        for key, default in (("suite", "?"), ("started", ""), ("totals", {}))
    }


def index_panel(settings: Settings, status: indexer.Status) -> None:
    if status.documents:
        st.markdown(f"**{status.documents}** articles · **{status.chunks}** passages indexed")
    else:
        st.markdown("**Nothing indexed yet**")
    when = status.last_indexed.replace("T", " ")[:16] if status.last_indexed else "never"
    st.caption(
        f"Folder {render.code(status.articles_dir)}  \n"
        f"Embeddings {render.code(status.embedding_model)}  \n"
        f"Store {render.code(status.store)}  \n"
        f"Last indexed {when}"
    )
    if st.button(
        "Re-index the folder",
        icon=":material/sync:",
        width="stretch",
        help="Index new, changed and deleted articles.",
    ):
        reindex(settings, "Re-indexing")
        st.rerun()


def reindex(settings: Settings, label: str) -> indexer.IndexReport | None:
    """Run the indexer with a progress bar; the summary goes to the activity list."""
    activity: list[tuple[str, str]] = []
    with st.status(f"{label}…", expanded=True) as box:
        bar = st.progress(0.0, text="Checking the articles folder…")

        def progress(done: int, total: int, message: str) -> None:
            bar.progress(min(done / total, 1.0) if total else 0.0, text=message[:60])

        try:
            model = embedder(settings.embedding_model, settings.embedding_batch_size)
            report = indexer.run(settings, progress=progress, embedder=model)
        except RagError as exc:
            box.update(label="Indexing failed", state="error")
            st.session_state.activity = [("error", render.md(exc))]
            return None
        box.update(label="Index up to date", state="complete", expanded=False)
    activity.append(("success", summary(report)))
    for skipped in report.skipped:
        activity.append(
            ("warning", f"Skipped {render.code(skipped.path)}: {render.md(skipped.reason)}.")
        )
    st.session_state.activity = activity
    return report


def summary(report: indexer.IndexReport) -> str:
    if not report.changed:
        return (
            f"Nothing changed: {report.documents} articles, {report.chunks} passages "
            f"({report.seconds:.1f} s)."
        )
    parts = []
    for verb, files in (
        ("added", report.added_files),
        ("updated", report.updated_files),
        ("removed", report.removed_files),
    ):
        if files:
            shown = ", ".join(render.code(f) for f in files[:5]) + (" …" if len(files) > 5 else "")
            parts.append(f"{verb} {shown}")
    rebuilt = " Rebuilt from scratch." if report.rebuilt else ""
    changes = "; ".join(parts)
    return (
        changes[:1].upper()
        + changes[1:]
        + f". Now {report.documents} articles, {report.chunks} passages "
        f"({report.embedded} embedded, {report.reused} reused, {report.seconds:.1f} s).{rebuilt}"
    )


def upload_panel(settings: Settings) -> None:
    state = st.session_state
    kinds = sorted({s.lstrip(".") for s in SUPPORTED_SUFFIXES})
    files = st.file_uploader(
        "Add articles",
        type=kinds,
        accept_multiple_files=True,
        key=f"uploader-{state.uploader}",
        help="Saved into the articles folder, then indexed.",
    )
    if files:
        saved: list[str] = []
        notes: list[tuple[str, str]] = []
        for f in files:
            try:
                result = save_upload(
                    settings.articles_dir, f.name, f.getvalue(), max_bytes=settings.max_file_bytes
                )
            except UploadConflict as exc:
                state.conflicts[exc.name] = (f.name, f.getvalue())
            except UploadError as exc:
                notes.append(("error", render.md(exc)))
            else:
                if result.unchanged:
                    notes.append(
                        (
                            "info",
                            f"{render.code(result.source)} is already in the folder, unchanged.",
                        )
                    )
                else:
                    saved.append(_saved_note(result))
        if saved:
            reindex(settings, "Indexing the upload")
            state.activity = [
                *notes,
                ("success", "Saved " + "; ".join(saved) + "."),
                *state.activity,
            ]
        else:
            state.activity = notes
        state.uploader += 1  # an empty uploader again: each upload is handled once
        st.rerun()
    for name, (original, data) in list(state.conflicts.items()):
        st.warning(
            f"{render.code(name)} is already in the articles folder; replace it with the upload?"
        )
        replace, keep = st.columns(2)
        if replace.button("Replace it", key=f"replace-{name}", width="stretch"):
            del state.conflicts[name]
            try:
                result = save_upload(
                    settings.articles_dir,
                    original,
                    data,
                    replace=True,
                    max_bytes=settings.max_file_bytes,
                )
            except UploadError as exc:
                state.activity = [("error", render.md(exc))]
            else:
                reindex(settings, "Indexing the upload")
                state.activity.insert(0, ("success", "Saved " + _saved_note(result) + "."))
            st.rerun()
        if keep.button("Keep the old", key=f"keep-{name}", width="stretch"):
            del state.conflicts[name]
            st.rerun()


def _saved_note(result: Any) -> str:
    note = render.code(result.source)
    if result.renamed:
        note += f" (from {render.md(repr(result.original_name))})"
    if result.replaced:
        note += ", replacing the old version"
    return note


@st.cache_data(ttl=5, show_spinner=False, hash_funcs={Settings: settings_key})
def llm_status(settings: Settings) -> llm_lib.LLMStatus:
    return llm_lib.status(settings)


def llm_panel(settings: Settings, warm_up: bool) -> None:
    st.markdown("### :material/smart_toy: LLM")
    warm = llm_warmup(settings) if warm_up else None

    @st.fragment(run_every=2 if warm is not None and not warm.done else None)
    def panel() -> None:
        status = llm_status(settings)
        state = status.state
        if state == "not started" and warm is not None and not warm.done:
            state = "starting"
        label = {
            "ready": "ready",
            "starting": "starting (loading the model)…",
            "not started": "starts with the first question",
            "unreachable": "unreachable",
        }[state]
        st.html(
            f"<div>{render.dot(STATE_COLOURS[state])}<b>{render.text(label)}</b></div>"
            f'<div style="color:#5b6475;font-size:.8rem">{render.text(status.description)}</div>'
        )
        if warm is not None and warm.error:
            st.error(render.md(warm.error))
        elif state == "unreachable":
            st.warning(render.md(unreachable_hint(settings)))

    panel()


def unreachable_hint(settings: Settings) -> str:
    if settings.llm_base_url:
        return (
            f"The LLM at {settings.llm_base_url} does not answer; start it or unset "
            "RAG_LLM_BASE_URL to use the embedded model. Meanwhile answers quote the best "
            "passages."
        )
    return (
        "The embedded LLM does not answer; run `rag llm stop` and reload the page. "
        "Meanwhile answers quote the best passages."
    )


# --- chat ------------------------------------------------------------------------------


def chat(settings: Settings, status: indexer.Status | None) -> None:
    st.markdown(f"## :material/newspaper: {TITLE}")
    st.caption(
        "Answers come only from the indexed news articles, and every claim cites the "
        "passage it comes from."
    )
    empty = status is not None and status.documents == 0
    # Read first (it is drawn at the bottom wherever it is called), so the welcome
    # list is left out of the run that answers the first question.
    question = st.chat_input(
        "Add articles to ask about them" if empty else "Ask about the articles…",
        disabled=empty or status is None,
    )
    if empty:
        st.warning(
            "The index is empty: add .txt, .md or .html articles to "
            f"{render.code(settings.articles_dir)} "
            "(or upload them in the sidebar) and press **Re-index the folder**."
        )
    elif status is not None and not st.session_state.messages and not question:
        show_library(settings)
    if status is not None and not empty:
        try:
            answerer(settings)  # the first start loads the embedding model here, with a spinner
        except RagError as exc:
            st.error(render.md(exc))
            return

    for message in st.session_state.messages:
        with st.chat_message(message["role"]):
            if message["role"] == "user":
                st.html(render.answer_html(message["content"]))
            else:
                show_answer(message)

    dates = True
    if not question and st.session_state.get("reask"):  # a date chip was removed
        question, dates = st.session_state.pop("reask"), False
    if not question or not question.strip():
        return
    question = question.strip()
    history = [
        {"role": m["role"], "content": m["content"]}
        for m in st.session_state.messages
        if m.get("content")
    ]
    st.session_state.messages.append({"role": "user", "content": question})
    with st.chat_message("user"):
        st.html(render.answer_html(question))
    with st.chat_message("assistant"):
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "",
            "key": uuid.uuid4().hex[:8],
            "notices": [],
            "error": "Stopped before the answer was finished; ask again.",
        }
        try:
            stream_answer(settings, question, history, message, dates)
        finally:  # also when a new question interrupts this one: keep the turns paired
            st.session_state.messages.append(message)
            llm_status.clear()
        if message.get("answer") is not None:
            chats_panel.save(settings, message["answer"])
        show_answer(message)


def stream_answer(
    settings: Settings,
    question: str,
    history: list[dict[str, str]],
    message: dict[str, Any],
    dates: bool = True,
) -> None:
    """Stream one answer into placeholders, filling ``message`` (the chat turn to keep).

    The sources appear as soon as retrieval is done, then the text as it is written;
    the placeholders are cleared at the end for the finished answer.
    """
    from rag.answering import Done, Notice, Retrieved, Token

    notices_box, answer_box, sources_box = st.empty(), st.empty(), st.empty()
    answer_box.markdown("*Searching the articles…*")
    text = ""
    try:
        worker = answerer(settings)
        events = worker.stream(
            question,
            history=history,
            k=st.session_state.get("top_k"),
            filters=chosen_filters(),
            dates=dates,
        )
        for event in events:
            if isinstance(event, Retrieved):
                answer_box.markdown(f"*{waiting_for_llm(settings)}*")
                with sources_box.container():
                    show_retrieved(event.passages)
            elif isinstance(event, Token):
                text += event.text
                answer_box.html(render.answer_html(text, cursor=True))
            elif isinstance(event, Notice):
                message["notices"].append(event.message)
                with notices_box.container():
                    for note in message["notices"]:
                        st.warning(render.md(note), icon=":material/warning:")
            elif isinstance(event, Done):
                message["answer"] = event.answer
                message["content"] = event.answer.answer
                message.pop("error", None)
    except RagError as exc:
        message["error"] = str(exc)
    except Exception as exc:  # never a traceback in the page; the log has the details
        log.exception("answering failed")
        message["error"] = (
            f"Answering failed ({_first_line(exc)}); see the terminal running `rag ui` "
            "and try again."
        )
    notices_box.empty()
    answer_box.empty()
    sources_box.empty()


def show_library(settings: Settings) -> None:
    """What can be asked about: the indexed articles, newest first."""
    try:
        records = sorted(
            Store(settings).file_records().values(),
            key=lambda r: (r.published or "", r.indexed_at),
            reverse=True,
        )
    except RagError:
        return
    shown = records[:6]
    rows = "".join(
        f'<li><span class="rag-title">{render.text(_short(r.title or r.source, 90))}</span>'
        f'<span class="rag-meta"> · <code>{render.text(r.source)}</code>'
        f"{' · ' + render.text(r.published) if r.published else ''}</span></li>"
        for r in shown
    )
    more = (
        f"<li class='rag-meta'>… and {len(records) - len(shown)} more</li>"
        if len(records) > len(shown)
        else ""
    )
    st.html(f'<div class="rag-library"><b>In the index</b><ul>{rows}{more}</ul></div>')
    st.caption("Ask anything about them below; follow-up questions keep the context.")


def _short(value: str, limit: int) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1].rsplit(" ", 1)[0] + "…"


def waiting_for_llm(settings: Settings) -> str:
    status = llm_status(settings)
    if status.state == "ready":
        return "Writing the answer…"
    if status.state == "unreachable":
        return "The LLM does not answer; quoting the best passages instead…"
    return "Starting the local LLM (first question only)…"


def show_retrieved(passages: list[Any]) -> None:
    """The passages found, listed while the answer is being written."""
    if not passages:
        st.caption("No passage matches the question.")
        return
    st.caption(f"Found {len(passages)} passages:")
    st.html(render.found_list(passages))


def show_answer(message: dict) -> None:
    """A finished answer: notices, the text with its badges, then one card per source."""
    if message.get("error"):
        st.error(render.md(message["error"]))
        return
    answer = message["answer"]
    key = message["key"]
    for note in message.get("notices", []):
        st.warning(render.md(note), icon=":material/warning:")
    if answer.fallback and not message.get("notices"):
        st.warning(
            "This answer quotes the best passages instead of an LLM answer: "
            + render.md(answer.fallback),
            icon=":material/warning:",
        )

    citations: dict[int, Any] = {}
    for c in sorted(answer.citations, key=lambda c: c.n):
        citations.setdefault(c.n, c)
    labels = {n: f"{c.title or c.source} ({c.source})" for n, c in citations.items()}
    marks = [] if answer.refused else render.sentence_marks(answer.answer, answer.sentences)
    st.html(render.answer_html(answer.answer, labels, marks, anchor_prefix=f"src-{key}"))
    if any(m.kind == "unsupported" for m in marks):
        st.caption("⚠ Underlined sentences are not supported by the passage they cite.")
    elif marks:
        st.caption("Dotted sentences cite no passage.")
    frame = getattr(answer, "timeframe", None)
    if frame is not None:
        date_chip(frame, answer.question, key)
        if answer.as_of:
            st.caption(f"As of {answer.as_of}, the newest article this answer cites.")
    if answer.refused:
        why = getattr(answer, "reason", None)
        st.caption(
            (render.md(why) + " " if why else "")
            + "Try other words, or add articles that cover it."
        )

    published = {p.chunk_id: p.published for p in answer.passages}
    stale = message.get("stale", {})  # a resumed answer's passages no longer in their article
    for n, c in citations.items():
        if c.chunk_id in stale:
            st.html(render.stale_card(n, c.title, c.source, stale[c.chunk_id], f"src-{key}-{n}"))
            continue
        st.html(
            render.source_card(
                n,
                c.title,
                c.source,
                published.get(c.chunk_id),
                c.text,
                c.start,
                c.quote_start,
                c.quote_end,
                supported=c.supported,
                anchor=f"src-{key}-{n}",
                page=c.page,
            )
        )
        url = render.article_url(c.source, c.start, c.end, c.quote_start, c.quote_end)
        st.markdown(f"[Open the article at this passage ↗]({url})")
    cited = {c.chunk_id for c in citations.values()}
    others = [p for p in answer.passages if p.chunk_id not in cited and p.chunk_id not in stale]
    if others and answer.refused:
        # The closest passages, said plainly to be no answer: never badged as support.
        st.markdown("**Related, but not an answer**")
        for p in others[:3]:
            st.html(render.passage_card(p))
            url = render.article_url(p.source, p.start, p.end, p.start, p.start)
            st.markdown(f"[Open the article ↗]({url})")
        others = others[3:]
    if others:
        label = "More related passages" if answer.refused else "Other passages retrieved"
        with st.expander(f"{label} ({len(others)})"):
            for p in others:
                st.html(render.passage_card(p))
                url = render.article_url(p.source, p.start, p.end, p.start, p.start)
                st.markdown(f"[Open the article ↗]({url})")
    timings = answer.timings or {}
    if timings.get("total"):
        parts = [f"answered in {timings['total']:.1f} s"]
        if timings.get("first_token"):
            parts.append(f"first words after {timings['first_token']:.1f} s")
        if timings.get("retrieval"):
            parts.append(f"search {timings['retrieval']:.2f} s")
        st.caption(" · ".join(parts).capitalize())


def date_chip(frame: Any, question: str, key: str) -> None:
    """The date window read from the question, with a button that asks again without it."""
    left, right = st.columns([3, 1], vertical_alignment="center")
    order = " · newest first" if frame.latest and (frame.after or frame.before) else ""
    left.html(
        f'<span class="rag-chip">Published: {render.text(frame.label)}{render.text(order)}'
        f' <span class="rag-meta">from “{render.text(frame.phrase)}”</span></span>'
    )
    if right.button(
        "Any date",
        key=f"anydate-{key}",
        icon=":material/close:",
        help="Ask the same question again over articles of every date.",
    ):
        st.session_state.reask = question
        st.rerun()


# --- the article view (?article=...) -------------------------------------------------


def _int(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def article_view(settings: Settings, params: Any) -> None:
    source = str(params.get("article"))
    start, end = _int(params.get("start")), _int(params.get("end"))
    quote_start, quote_end = _int(params.get("qs")), _int(params.get("qe"))
    try:
        records = Store(settings).file_records()
    except RagError as exc:
        st.error(render.md(exc))
        return
    record = records.get(source)
    path = (settings.articles_dir / source).resolve()
    folder = settings.articles_dir.resolve()
    if record is None or not path.is_relative_to(folder):
        st.error(
            f"{render.md(repr(source))} is not an indexed article; open articles from the "
            "source cards, "
            "or re-index the folder if it was added recently."
        )
        return
    try:
        doc = load(FileEntry(path=path, source=source), settings.max_file_bytes)
    except (DocumentError, OSError) as exc:
        st.error(
            f"{render.code(source)} cannot be read ({render.md(_first_line(exc))}); "
            "re-index the folder to drop it."
        )
        return
    meta = [f"<code>{render.text(source)}</code>"]
    if doc.published:
        meta.append(render.text(doc.published))
    meta.append(f"{len(doc.text):,} characters")
    if doc.pages:
        meta.append(f"{len(doc.pages)} pages")
    st.html(
        f'<div class="rag-article-head"><h1>{render.text(_short(doc.title, 160))}</h1>'
        f'<div class="rag-meta">{" · ".join(meta)}</div></div>'
    )
    if doc.content_hash != record.content_hash:
        st.warning(
            "This article changed since it was indexed, so the highlight may be off; "
            "re-index the folder to refresh it."
        )
    if start is None or end is None:
        st.html(f'<div class="rag-article">{render.text(doc.text)}</div>')
        return
    page = doc.page_at(quote_start if quote_start is not None else start)
    on_page = f" (p. {page})" if page else ""
    st.caption(
        f"The cited passage{on_page} is tinted and its sentence marked; close this tab to return."
    )
    st.html(render.article_body(doc.text, start, end, quote_start, quote_end))
    st.html(render.SCROLL_TO_PASSAGE, unsafe_allow_javascript=True)


main()
