"""Choose the answerability rules on the SQuAD 2.0 tune half, never on eval/seeds.jsonl.

Step 1 (slow, needs the LLM): ask the tune-half sample through the product and keep
each question's passages and the model's raw reply:

    .venv/bin/python eval/answerability_calibration.py ask --limit 120 --out CACHE.json

Step 2 (seconds): replay the cached replies through the checks and the policy under
each rule variant, printing answered/refused rates, so a rule is judged on the same
model replies:

    .venv/bin/python eval/answerability_calibration.py rules CACHE.json

The variants switch off one check at a time and sweep the coverage threshold of
``rag.answer_policy``; the chosen values are the constants in that module.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from rag import evaluation, structured
from rag.answer_policy import MIN_COVERAGE, decide, vet_text
from rag.answerability import check_claims, quoted
from rag.config import Settings
from rag.embeddings import Embedder
from rag.questions import analyse
from rag.retrieval import Passage
from rag.verifier import Verifier


def ask(args: argparse.Namespace) -> None:
    settings = Settings()
    suite = evaluation.load_suite("squad2", home=settings.home)
    items = evaluation.select(suite, args.limit, half="tune")
    answerer = evaluation.make_answerer(settings, suite)
    rows = []
    for i, item in enumerate(items, 1):
        t = time.monotonic()
        answer = answerer.ask(item.question)
        rows.append(
            {
                "id": item.id,
                "question": item.question,
                "answerable": item.answerable,
                "answers": item.answers,
                "gold_sources": item.gold_sources,
                "seconds": round(time.monotonic() - t, 2),
                "answer": answer.to_dict(),
            }
        )
        print(f"{i}/{len(items)} {rows[-1]['seconds']} s {item.question[:60]}", file=sys.stderr)
        Path(args.out).write_text(json.dumps(rows, indent=1))


def _stated(answers: list[str], text: str) -> bool:
    norm = evaluation.squad_normalise
    return any(norm(a) and norm(a) in norm(text) for a in answers)


def rules(args: argparse.Namespace) -> None:
    rows = json.loads(Path(args.cache).read_text())
    verifier = Verifier(Embedder(Settings().embedding_model))
    prepared = []
    for row in rows:
        a = row["answer"]
        passages = [Passage(**p) for p in a["passages"]]
        shape = analyse(a["query"])
        try:
            reply = structured.parse(a.get("llm_answer") or "", len(passages), shape.yes_no)
        except structured.ReplyError:
            reply = None
        claims = [(c.passage, c.quote, c.text) for c in reply.claims] if reply else []
        checks = check_claims(shape, claims, passages, verifier)
        prepared.append((row, shape, reply, checks, passages))

    def run(name: str, **opts: object) -> None:
        stated = answered = refused_un = n_ans = n_un = 0
        for row, shape, reply, checks, passages in prepared:
            q = shape
            if opts.get("no_type"):
                q = replace(q, expects="")
            if opts.get("no_constraints"):
                q = replace(q, numbers=frozenset(), names=frozenset(), qualifiers=frozenset())
            cs = checks
            if opts.get("no_support"):
                cs = [replace(c, supported=True) for c in cs]
            if "support" in opts:
                cs = [replace(c, supported=c.score >= float(opts["support"])) for c in cs]
            if opts.get("own_words"):  # no claim shown as its quote's sentence
                cs = [c for c in cs if c.valid]
            if opts.get("any_quote"):  # quoted sentences also for quotes matched loosely
                cs = [c if c.valid else (quoted(c) or c) for c in cs]
            if opts.get("no_quote"):
                cs = [replace(c, span=c.span or (0, 1), missing=()) for c in cs]
            d = decide(
                q, reply, cs, passages, min_coverage=float(opts.get("coverage", MIN_COVERAGE))
            )
            if opts.get("trust_flag") and reply is not None and not reply.answerable:
                d = replace(d, kind="refuse")
            text = " ".join(c.text for c in d.claims)
            if row["answerable"]:
                n_ans += 1
                answered += not d.refused
                stated += (not d.refused) and _stated(row["answers"], text)
            else:
                n_un += 1
                refused_un += d.refused
        print(
            f"| {name} | {stated / max(n_ans, 1):.3f} | {answered / max(n_ans, 1):.3f} "
            f"| {refused_un / max(n_un, 1):.3f} |"
        )

    if args.show:
        for row, shape, reply, checks, passages in prepared:
            d = decide(shape, reply, checks, passages)
            flag = None if reply is None else reply.answerable
            print(
                f"{'A' if row['answerable'] else 'U'} {'refuse' if d.refused else 'answer'} "
                f"flag={flag} expects={shape.expects or '-'} {row['question'][:70]!r}\n"
                f"   {d.reason or ' | '.join(c.text[:80] for c in d.claims)}\n"
                f"   gold={row['answers'][:2]} checks="
                + "; ".join(
                    f"n{c.n} span={bool(c.span)} miss={c.missing} sup={c.supported}"
                    f"({c.score:.2f}) typed={c.typed}"
                    for c in checks
                )
            )
    unread = sum(r is None for _, _, r, _, _ in prepared)
    print(f"{len(prepared)} items, {unread} unreadable replies\n")
    print("| rules | answer stated | answerable answered | unanswerable refused |")
    print("|---|---|---|---|")
    run(
        "model's claims only (no checks)",
        no_type=True,
        no_constraints=True,
        no_support=True,
        no_quote=True,
        coverage=0.0,
    )
    run(
        "model's flag only",
        no_type=True,
        no_constraints=True,
        no_support=True,
        no_quote=True,
        coverage=0.0,
        trust_flag=True,
    )
    for cov in (0.0, 0.3, 0.4, 0.5, 0.6):
        run(f"all checks, coverage {cov}", coverage=cov)
    for t in (0.5, 0.6, 0.65, 0.7):
        run(f"all checks, coverage 0.4, support score {t}", coverage=0.4, support=t)
    run("all checks + model's flag", trust_flag=True)
    run("without the answer-type check", no_type=True)
    run("without the question's names/numbers", no_constraints=True)
    run("without the verifier", no_support=True)
    run("without the quote check", no_quote=True)
    run("claims in the model's own words only", own_words=True)
    run("quoted sentences for loosely matched quotes too", any_quote=True)
    for cov in (0.3, 0.5, 0.6, 0.7):
        run(f"claims in the model's own words only, coverage {cov}", own_words=True, coverage=cov)


def text_rules(args: argparse.Namespace) -> None:
    """Replay saved free-text answers (``RAG_ANSWER_MODE=text``) through ``vet_text``."""
    from rag.answering import Answer

    rows = json.loads(Path(args.cache).read_text())
    prepared = [(row, Answer.from_dict(row["answer"])) for row in rows]

    def run(name: str, **opts: object) -> None:
        stated = answered = refused_un = n_ans = n_un = 0
        for row, a in prepared:
            q = analyse(a.query)
            if opts.get("no_type"):
                q = replace(q, expects="")
            if opts.get("no_constraints"):
                q = replace(q, numbers=frozenset(), names=frozenset(), qualifiers=frozenset())
            refused = a.refused
            if not refused and not opts.get("off") and (a.fallback is None or opts.get("fb")):
                cov = float(opts.get("coverage", MIN_COVERAGE))
                refused = bool(vet_text(q, a.sentences, a.citations, a.passages, cov))
            if args.show and not opts:
                why = vet_text(q, a.sentences, a.citations, a.passages) if not a.refused else ""
                print(
                    f"{'A' if row['answerable'] else 'U'} {'refuse' if refused else 'answer'}"
                    f" fb={bool(a.fallback)} {row['question'][:70]!r}\n   {why or a.answer[:140]}"
                )
            if row["answerable"]:
                n_ans += 1
                answered += not refused
                stated += (not refused) and _stated(row["answers"], a.answer)
            else:
                n_un += 1
                refused_un += refused
        print(
            f"| {name} | {stated / max(n_ans, 1):.3f} | {answered / max(n_ans, 1):.3f} "
            f"| {refused_un / max(n_un, 1):.3f} |"
        )

    print(f"{len(prepared)} items\n")
    print("| rules | answer stated | answerable answered | unanswerable refused |")
    print("|---|---|---|---|")
    run("all checks, fallbacks too", fb=True)
    run("as answered (no vetting)", off=True)
    run("all checks (model-written answers only)")
    for cov in (0.0, 0.3, 0.5, 0.6):
        run(f"all checks, fallbacks too, coverage {cov}", fb=True, coverage=cov)
    run("without the answer-type check", fb=True, no_type=True)
    run("without the question's names/numbers/qualifiers", fb=True, no_constraints=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    a = sub.add_parser("ask")
    a.add_argument("--limit", type=int, default=120)
    a.add_argument("--out", required=True)
    r = sub.add_parser("rules")
    r.add_argument("cache")
    r.add_argument("--show", action="store_true", help="Print each item's decision first.")
    t = sub.add_parser("text-rules", help="Replay cached free-text answers through vet_text.")
    t.add_argument("cache")
    t.add_argument("--show", action="store_true", help="Print each item's decision first.")
    args = parser.parse_args()
    {"ask": ask, "rules": rules, "text-rules": text_rules}[args.step](args)


if __name__ == "__main__":
    main()
