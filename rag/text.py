"""The words of a text, as every check compares them: stems, content words, numbers, names.

One place for the stemmer (Snowball English, as the keyword side), the stopwords,
accent folding ("Bolesław" is "Boleslaw"), numbers written in digits or words, and
the rough test for a proper name (a capitalised word not opening a sentence).  The
citation verifier (``rag.verifier``), the question analysis (``rag.questions``),
the quote matching (``rag.quotes``) and the answerability checks all read text
through these.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from rag.chunking import sentence_spans

_WORD = re.compile(r"[^\W_]+(?:['’][A-Za-z]+)?(?:[.,]\d+)*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# An abbreviation written with full stops: "U.S.", "U.K.", "J. K." (one name, "US").
_DOTTED = re.compile(r"\b[A-Z]\.(?:[ \t]?[A-Z]\.)+")
# A name of several capitalised words, which an abbreviation of their initials also names:
# "United States" (US), "European Union" (EU), "Department of Justice" (DOJ or DJ).
# On one line; "and" parts two names ("Russia and Ukraine").
_CAPITAL_RUN = re.compile(r"\b[A-Z][a-z]+(?:[ \t]+(?:(?:of|for|the)[ \t]+)?[A-Z][a-z]+)+")

_STOPWORD_TEXT = """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    few for from further had has have having he her here hers herself him himself his how
    i if in into is it its itself just me more most my myself no nor not now of off on
    once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves according article articles passage passages
    said says say told tells stated states reported reports mentioned mentions noted notes
    one's also however including include includes included per via upon give gives gave
    given giving several various many number key main major overall specifically
    particularly notably mainly primarily following"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
STOPWORDS = _STOPWORDS  # shared with the question and quote checks
# Capitalised words that start clauses or are generic, so not names to check.
_CLAUSE_OPENERS = "yes no however meanwhile despite although though while according overall"
_NOT_NAMES = _STOPWORDS | frozenset(_CLAUSE_OPENERS.split())
_NUMBER_WORDS = {
    "zero": "0", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "thirteen": "13", "fourteen": "14", "fifteen": "15", "sixteen": "16", "seventeen": "17",
    "eighteen": "18", "nineteen": "19", "twenty": "20", "thirty": "30", "forty": "40",
    "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90",
    "hundred": "100", "thousand": "1000", "million": "1000000", "billion": "1000000000",
}  # fmt: skip


# Letters with no accent-free decomposition, written as their plain forms ("Bolesław").
_PLAIN = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ı": "i", "ß": "ss",
                        "æ": "ae", "œ": "oe", "þ": "th", "ð": "d"})  # fmt: skip


def _fold(word: str) -> str:
    """Lower case without accents: "Beauséjour" and "Beausejour", "Bolesław" and
    "Boleslaw" are one name."""
    decomposed = unicodedata.normalize("NFKD", word.lower().replace("’", "'").translate(_PLAIN))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@functools.cache
def _stemmer() -> Any:
    import Stemmer  # PyStemmer, as the BM25 side uses

    return Stemmer.Stemmer("english")


@functools.lru_cache(maxsize=50_000)
def _stem(word: str) -> str:
    """Snowball stem of the folded word: "citing" and "cited" are one word."""
    w = _fold(word)
    if w.endswith("'s"):
        w = w[:-2]
    return _stemmer().stemWord(w)


def content_words(text: str) -> set[str]:
    """Stemmed content words (stopwords out) of ``text``."""
    return {_stem(w) for w in _WORD.findall(text) if w.lower() not in _STOPWORDS and len(w) > 1}


def all_words(text: str) -> set[str]:
    """Every word of ``text``, stemmed (where a claim's names are looked up); an
    abbreviation with full stops also as one word ("U.S." holds "US"), and the
    abbreviations of its several-word names ("United States" holds "US")."""
    return (
        {_stem(w) for w in _WORD.findall(text)}
        | {_stem(_undotted(m)) for m in _DOTTED.findall(text)}
        | initials(text)
    )


def undotted(text: str) -> str:
    """``text`` with each abbreviation written with full stops as one word ("U.S." -> "US")."""
    return _DOTTED.sub(lambda m: _undotted(m[0]), text)


def _undotted(abbreviation: str) -> str:
    return re.sub(r"[.\s]", "", abbreviation)


def initials(text: str) -> set[str]:
    """The abbreviations of the several-word names ``text`` writes out, stemmed: "the
    United States" -> "us", "Department of Justice" -> "doj" and "dj"; each stretch of
    two to five words of a longer run of capitals counts ("Former United States envoy
    Smith" -> "us"), a sentence's opening word ("In", "At") does not."""
    found = set()
    for run in _CAPITAL_RUN.findall(text):
        words = run.split()
        while words and words[0].lower() in _NOT_NAMES:
            words = words[1:]
        for a in range(len(words)):
            for b in range(a + 2, min(a + 5, len(words)) + 1):
                part = words[a:b]
                if part[0][0].islower() or part[-1][0].islower():
                    continue  # "of Justice": a stretch starts and ends with a name word
                for letters in ([w[0] for w in part], [w[0] for w in part if w[0].isupper()]):
                    if len(letters) >= 2:
                        found.add(_stem("".join(letters)))
    return found


def numbers(text: str) -> set[str]:
    """The numbers of ``text``, digits only (``1,200`` -> ``1200``; ``four`` -> ``4``)."""
    found = {re.sub(r"[,]", "", n).rstrip(".") for n in _NUMBER.findall(text)}
    found |= {_NUMBER_WORDS[w.lower()] for w in _WORD.findall(text) if w.lower() in _NUMBER_WORDS}
    return found


# A Roman numeral after a name: "World War I", "Henry VIII", "Apollo XI" (up to 39).
_ROMAN = re.compile(r"\b[A-Z][a-z]+ (X{0,3})(IX|IV|V?I{0,3})\b")
_ROMAN_DIGITS = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8, "IX": 9}


def roman_numbers(text: str) -> set[str]:
    """The numbers ``text`` writes as Roman numerals after a name, as digits ("World War I"
    -> "1", "Louis XIV" -> "14"); "I" before a lowercase word is the pronoun ("When I went")."""
    found = set()
    for m in _ROMAN.finditer(text):
        tens, units = m.groups()
        pronoun = not tens and units == "I" and re.match(r" [a-z]", text[m.end() :])
        if (tens or units) and not pronoun:
            found.add(str(10 * len(tens) + _ROMAN_DIGITS.get(units, 0)))
    return found


def names(text: str) -> set[str]:
    """Capitalised words not opening a sentence: proper names, roughly (stemmed)."""
    found: set[str] = set()
    for start, end in sentence_spans(text):
        words = _WORD.findall(undotted(text[start:end]))
        for w in words[1:]:
            if w[0].isupper() and w.lower() not in _NOT_NAMES and not w.isdigit():
                found.add(_stem(w))
    return found


def held_name(name: str, words: set[str]) -> bool:
    """Whether ``words`` (stemmed) hold ``name``, a form of it included: "Ukrainian" is
    held by "Ukraine's", "Russia" by "Russian" (one stem the prefix of the other, 5+ letters)."""
    if name in words:
        return True
    if len(name) < 5:
        return False
    return any(len(w) >= 5 and (w.startswith(name) or name.startswith(w)) for w in words)


def near_name(name: str, words: set[str]) -> bool:
    """``held_name``, or ``words`` hold the name misspelt by one letter (a letter missing,
    extra or changed past the first two, in a name of six letters or more): a user's
    "Moncalm" is Montcalm, while "Prussia" is not "Russia" nor "Iraq" "Iran"."""
    if held_name(name, words):
        return True
    if len(name) < 6:
        return False
    return any(len(w) >= 6 and w[:2] == name[:2] and _one_edit(name, w) for w in words)


def _one_edit(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ by exactly one inserted, deleted or changed letter."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = sorted((a, b), key=len)
    i = next((i for i, (x, y) in enumerate(zip(short, long, strict=False)) if x != y), len(short))
    return short[i:] == long[i + 1 :]


def unsourced(claim: str, texts: Sequence[str]) -> tuple[str, ...]:
    """The numbers and names of ``claim`` that none of ``texts`` holds: facts from elsewhere."""
    pool = " ".join(texts)
    held_numbers, held_words = numbers(pool), all_words(pool)
    return tuple(
        sorted(n for n in numbers(claim) if n not in held_numbers)
        + sorted(n for n in names(claim) if n not in held_words)
    )
