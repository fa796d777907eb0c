"""The table bench/peer.py prints: one row per system, from the totals of peer_scoring.summarise."""

from __future__ import annotations

from typing import Any

# --- output ---------------------------------------------------------------------------


def _cell(s: dict[str, Any]) -> str:
    return "–" if s["value"] is None else f"{s['value']:.3f} ({s['hits']}/{s['n']})"


def table(rows: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| system | questions (answerable / not) | gold answer stated | gold article cited "
        "| unanswerable refused | answerable wrongly refused | s per question, mean (p50) "
        "| s total |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, t in rows.items():
        lines.append(
            f"| {name} | {t['n']} ({t['n_answerable']} / {t['n_unanswerable']}) "
            f"| {_cell(t['gold_answer_stated'])} | {_cell(t['gold_article_cited'])} "
            f"| {_cell(t['unanswerable_refused'])} | {_cell(t['answerable_wrongly_refused'])} "
            f"| {t['seconds_mean']} ({t['seconds_p50']}) | {t['seconds_total']} |"
        )
    return "\n".join(lines)
