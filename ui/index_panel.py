"""The sidebar's index panel: what is indexed, re-indexing with progress, uploads."""

from __future__ import annotations

from typing import Any

import streamlit as st

import rag
from ui import render
from ui.cached import embedder


def index_panel(settings: rag.Settings, status: rag.IndexStatus) -> None:
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


def reindex(settings: rag.Settings, label: str) -> rag.IndexReport | None:
    """Run the indexer with a progress bar; the summary goes to the activity list."""
    activity: list[tuple[str, str]] = []
    with st.status(f"{label}…", expanded=True) as box:
        bar = st.progress(0.0, text="Checking the articles folder…")

        def progress(done: int, total: int, message: str) -> None:
            bar.progress(min(done / total, 1.0) if total else 0.0, text=message[:60])

        try:
            model = embedder(settings.embedding_model, settings.embedding_batch_size)
            report = rag.index(settings, progress=progress, embedder=model)
        except rag.RagError as exc:
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


def summary(report: rag.IndexReport) -> str:
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


def upload_panel(settings: rag.Settings) -> None:
    state = st.session_state
    kinds = sorted({s.lstrip(".") for s in rag.SUPPORTED_SUFFIXES})
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
                result = rag.save_upload(
                    settings.articles_dir, f.name, f.getvalue(), max_bytes=settings.max_file_bytes
                )
            except rag.UploadConflict as exc:
                state.conflicts[exc.name] = (f.name, f.getvalue())
            except rag.UploadError as exc:
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
                result = rag.save_upload(
                    settings.articles_dir,
                    original,
                    data,
                    replace=True,
                    max_bytes=settings.max_file_bytes,
                )
            except rag.UploadError as exc:
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
