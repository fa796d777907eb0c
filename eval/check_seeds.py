#!/usr/bin/env python3
"""Validate the hand-labelled citation eval set (eval/seeds.jsonl).

Checks, per item:
  * schema: required fields and types, unique ids, known category;
  * history: empty unless category == follow_up (then >= 1 user + assistant turn);
  * answerable items: non-empty gold_sources, evidence and key_facts;
    gold_sources == set of evidence sources; every source exists in seeds/;
  * every evidence quote == file_text[start:end] (file read as UTF-8);
  * every key fact (a list of alternative strings) has at least one alternative
    that occurs, case-insensitively, in the item's evidence quotes;
  * unanswerable items: empty gold_sources / evidence / key_facts;
  * both_articles items: evidence from at least two different files;
  * minimum per-category counts.
Prints counts per category. Exit status 0 on success, 1 on any error.

Usage: python3 eval/check_seeds.py [path/to/seeds.jsonl] [path/to/seeds_dir]
Stdlib only.
"""

import json
import os
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_JSONL = os.path.join(HERE, "seeds.jsonl")
DEFAULT_SEEDS = os.path.join(os.path.dirname(HERE), "seeds")

CATEGORIES = {
    "single_fact",
    "both_articles",
    "number_or_name",
    "quote",
    "unanswerable",
    "general_knowledge_lure",
    "injection",
    "follow_up",
}
MIN_COUNTS = {
    "single_fact": 20,
    "both_articles": 8,
    "number_or_name": 10,
    "quote": 6,
    "unanswerable": 8,
    "general_knowledge_lure": 6,
    "injection": 3,
    "follow_up": 6,
}
MIN_TOTAL = 64
# categories whose items must always be unanswerable
ALWAYS_UNANSWERABLE = {"unanswerable", "general_knowledge_lure"}
REQUIRED = {
    "id": str,
    "category": str,
    "question": str,
    "history": list,
    "answerable": bool,
    "gold_sources": list,
    "evidence": list,
    "key_facts": list,
}


def norm(s):
    """Case-fold and unify typographic quotes/dashes for key-fact matching."""
    return (
        s.replace("\u2019", "'")
        .replace("\u2018", "'")
        .replace("\u201c", '"')
        .replace("\u201d", '"')
        .replace("\u2014", "-")
        .replace("\u2013", "-")
        .casefold()
    )


def check(jsonl_path, seeds_dir):
    errors = []
    texts = {}
    for name in sorted(os.listdir(seeds_dir)):
        p = os.path.join(seeds_dir, name)
        if os.path.isfile(p):
            with open(p, encoding="utf-8") as f:
                texts[name] = f.read()

    items = []
    with open(jsonl_path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                errors.append(f"line {lineno}: blank line")
                continue
            try:
                items.append((lineno, json.loads(line)))
            except json.JSONDecodeError as e:
                errors.append(f"line {lineno}: invalid JSON: {e}")

    seen_ids = set()
    counts = Counter()
    answerable_counts = Counter()
    for lineno, it in items:
        tag = f"line {lineno} ({it.get('id', '?')})"
        if not isinstance(it, dict):
            errors.append(f"{tag}: not a JSON object")
            continue
        bad = False
        for key, typ in REQUIRED.items():
            if key not in it:
                errors.append(f"{tag}: missing field {key!r}")
                bad = True
            elif not isinstance(it[key], typ):
                errors.append(f"{tag}: field {key!r} should be {typ.__name__}")
                bad = True
        extra = set(it) - set(REQUIRED) - {"notes"}
        if extra:
            errors.append(f"{tag}: unexpected fields {sorted(extra)}")
        if "notes" in it and not isinstance(it["notes"], str):
            errors.append(f"{tag}: notes should be a string")
        if bad:
            continue

        if it["id"] in seen_ids:
            errors.append(f"{tag}: duplicate id")
        seen_ids.add(it["id"])
        cat = it["category"]
        if cat not in CATEGORIES:
            errors.append(f"{tag}: unknown category {cat!r}")
        counts[cat] += 1
        if it["answerable"]:
            answerable_counts[cat] += 1
        if not it["question"].strip():
            errors.append(f"{tag}: empty question")

        # history
        hist = it["history"]
        if cat == "follow_up":
            if len(hist) < 2:
                errors.append(f"{tag}: follow_up needs a prior user+assistant turn")
        elif hist:
            errors.append(f"{tag}: history must be empty for category {cat}")
        for i, turn in enumerate(hist):
            if (
                not isinstance(turn, dict)
                or set(turn) != {"role", "content"}
                or turn.get("role") not in ("user", "assistant")
                or not isinstance(turn.get("content"), str)
                or not turn["content"].strip()
            ):
                errors.append(f"{tag}: bad history turn {i}: {turn!r}")
        if hist and isinstance(hist[0], dict) and hist[0].get("role") != "user":
            errors.append(f"{tag}: history should start with a user turn")

        if cat in ALWAYS_UNANSWERABLE and it["answerable"]:
            errors.append(f"{tag}: category {cat} must have answerable=false")

        gold, evidence, key_facts = it["gold_sources"], it["evidence"], it["key_facts"]
        if not it["answerable"]:
            if gold or evidence or key_facts:
                errors.append(
                    f"{tag}: unanswerable item must have empty gold_sources, evidence and key_facts"
                )
            continue

        # answerable
        if not gold:
            errors.append(f"{tag}: answerable item has no gold_sources")
        if not evidence:
            errors.append(f"{tag}: answerable item has no evidence")
        if not key_facts:
            errors.append(f"{tag}: answerable item has no key_facts")
        for g in gold:
            if g not in texts:
                errors.append(f"{tag}: gold source {g!r} not in {seeds_dir}")
        if len(set(gold)) != len(gold):
            errors.append(f"{tag}: duplicate gold_sources")

        quotes = []
        ev_sources = set()
        for j, e in enumerate(evidence):
            etag = f"{tag} evidence[{j}]"
            if (
                not isinstance(e, dict)
                or set(e) != {"source", "quote", "start", "end"}
                or not isinstance(e.get("source"), str)
                or not isinstance(e.get("quote"), str)
                or type(e.get("start")) is not int
                or type(e.get("end")) is not int
            ):
                errors.append(f"{etag}: malformed evidence object {e!r}")
                continue
            src, quote, s, t = e["source"], e["quote"], e["start"], e["end"]
            ev_sources.add(src)
            if src not in texts:
                errors.append(f"{etag}: unknown source {src!r}")
                continue
            if not quote.strip():
                errors.append(f"{etag}: empty quote")
            if not (0 <= s < t <= len(texts[src])):
                errors.append(f"{etag}: offsets {s}:{t} out of range")
            elif texts[src][s:t] != quote:
                errors.append(f"{etag}: quote != text[{s}:{t}] (text has {texts[src][s:t]!r})")
            quotes.append(quote)
        if set(gold) != ev_sources:
            errors.append(
                f"{tag}: gold_sources {sorted(gold)} != evidence sources {sorted(ev_sources)}"
            )
        if cat == "both_articles" and len(ev_sources) < 2:
            errors.append(f"{tag}: both_articles needs evidence from two files")

        haystack = norm("\n".join(quotes))
        for k, alts in enumerate(key_facts):
            if (
                not isinstance(alts, list)
                or not alts
                or not all(isinstance(a, str) and a.strip() for a in alts)
            ):
                errors.append(
                    f"{tag}: key_facts[{k}] must be a non-empty list of "
                    f"non-empty strings, got {alts!r}"
                )
                continue
            if not any(norm(a) in haystack for a in alts):
                errors.append(f"{tag}: key_facts[{k}] {alts!r} not found in evidence")

    total = sum(counts.values())
    for cat, n in MIN_COUNTS.items():
        if counts[cat] < n:
            errors.append(f"category {cat}: {counts[cat]} items, need >= {n}")
    if total < MIN_TOTAL:
        errors.append(f"total {total} items, need >= {MIN_TOTAL}")

    print(f"{jsonl_path}: {total} items")
    width = max(len(c) for c in CATEGORIES)
    for cat in sorted(CATEGORIES, key=lambda c: (-counts[c], c)):
        print(f"  {cat:<{width}}  {counts[cat]:3d}  (answerable: {answerable_counts[cat]})")
    both = sum(
        1 for _, it in items if isinstance(it, dict) and len(set(it.get("gold_sources") or [])) > 1
    )
    print(f"  items citing both files: {both}")
    print(
        f"  answerable: {sum(answerable_counts.values())}, "
        f"refusal expected: {total - sum(answerable_counts.values())}"
    )
    return errors


def main():
    jsonl = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_JSONL
    seeds = sys.argv[2] if len(sys.argv) > 2 else DEFAULT_SEEDS
    errors = check(jsonl, seeds)
    if errors:
        print(f"\nFAILED with {len(errors)} error(s):")
        for e in errors:
            print("  " + e)
        sys.exit(1)
    print("\nOK")


if __name__ == "__main__":
    main()
