"""What a question asks for and what it pins down: its answer type, its constraints.

"When ...?" needs a date, "how many" a number, "who"/"where" a name; the question's
own numbers and names ("in 1977", "the Franks") and the words it turns on ("not",
"before", "largest") must be in the evidence that answers it.  SQuAD 2.0's adversarial
unanswerable questions are built by swapping exactly such a part.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from rag.chunking import sentence_spans
from rag.several import is_multi_article, without_articles
from rag.text import STOPWORDS as _STOP
from rag.text import content_words, names, numbers, undotted

# Months and days count as dates only capitalised ("may", "march" are also verbs).
_CALENDAR = frozenset(
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "Jan",
        "Feb",
        "Mar",
        "Apr",
        "Jun",
        "Jul",
        "Aug",
        "Sep",
        "Sept",
        "Oct",
        "Nov",
        "Dec",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ]
)
_DATE_WORDS = frozenset(
    [
        "yesterday",
        "today",
        "tomorrow",
        "tonight",
        "ago",
        "century",
        "centuries",
        "decade",
        "decades",
        "year",
        "years",
        "spring",
        "summer",
        "autumn",
        "winter",
        "week",
        "weeks",
        "weekend",
        "month",
        "months",
        "morning",
        "evening",
        "night",
        "bc",
        "ad",
        "bce",
        "ce",
    ]
)
# Words a question may open with that are not names ("Tell me about ...", "Please ...").
_IMPERATIVES = frozenset(
    [
        "tell",
        "summarise",
        "summarize",
        "explain",
        "describe",
        "please",
        "ok",
        "okay",
        "list",
        "name",
        "give",
        "show",
        "compare",
        "according",
        "besides",
        "apart",
        "other",
        "except",
    ]
)
_QUANTITY_WORDS = frozenset(
    [
        "dozen",
        "dozens",
        "hundreds",
        "thousands",
        "millions",
        "billions",
        "half",
        "quarter",
        "third",
        "several",
        "few",
        "many",
        "most",
        "all",
        "none",
        "percent",
    ]
)
_WORD = re.compile(r"[^\W_]+(?:['’][A-Za-z]+)?")
_WH_OPENERS = frozenset(
    [
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "did",
        "do",
        "does",
        "is",
        "are",
        "was",
        "were",
        "can",
        "could",
        "will",
        "would",
        "should",
        "has",
        "have",
        "had",
        "in",
        "on",
        "at",
        "for",
        "from",
        "by",
        "according",
        "to",
        "name",
        "list",
    ]
)

Expect = str  # "date" | "number" | "name" | ""

# Words that turn a question into another question while barely changing its wording:
# negations, order in time, comparison.  When the question has one, the evidence must
# too ("Who announced she would NOT step down?" is not answered by "She would step down").
# Capitalised abbreviations of common nouns: the kind of thing asked about, which the
# evidence need not spell out ("Which TV programme ..." is answered by its name).
_COMMON_ACRONYMS = frozenset(
    ["tv", "ceo", "cfo", "cto", "gdp", "pm", "mp", "ai", "id", "dna", "hq", "faq", "vip"]
)
_NEGATIONS = frozenset(
    ["not", "no", "never", "neither", "nor", "without", "none", "nobody", "nothing"]
)
_QUALIFIERS = frozenset(
    [
        "before",
        "after",
        "first",
        "last",
        "earliest",
        "only",
        "more",
        "less",
        "most",
        "least",
        "fewer",
        "larger",
        "smaller",
        "higher",
        "lower",
        "older",
        "newer",
        "longest",
        "shortest",
        "largest",
        "smallest",
        "highest",
        "lowest",
    ]
)


# Order words beyond "first" and "last": "Who won the second round?" is not answered by
# the first round's winner (SQuAD 2.0's adversarial questions swap exactly such a word).
_ORDINALS = frozenset(
    ["second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"]
)
_PER = frozenset(["per", "a", "one", "each", "every", "split"])  # "per second": a unit


@dataclass(frozen=True)
class Question:
    """What a question asks for and what it pins down."""

    text: str
    expects: Expect  # the kind of thing the answer must hold, "" when any
    numbers: frozenset[str]  # numbers the question states ("in 1977")
    names: frozenset[str]  # names the question states, stemmed
    words: frozenset[str]  # its content words, stemmed
    qualifiers: frozenset[str]  # negation, order and comparison words it turns on
    multi: bool  # about several articles: "do the two articles agree", "across both pieces"
    yes_no: bool  # asks yes or no ("Do ...", "Is ...")
    timeline: bool = False  # asks how something developed: answered oldest first, dated
    role: str = ""  # the role a "who is the ... of" question asks about ("spokesman")
    role_of: str = ""  # whose role it is, when the question says ("kremlin" in "the Kremlin's")
    besides: frozenset[str] = frozenset()  # names it sets aside: "Who else, besides Blumenthal"


def analyse(question: str) -> Question:
    """The answer type and constraints of ``question``."""
    text = " ".join(question.split())
    bare = without_articles(text)
    office = office_of(text)
    timeline = is_timeline(text)
    if timeline:  # "how did it develop" says how to answer, not what the evidence must hold
        bare = _DEVELOPING.sub(" ", bare)
    return Question(
        text=text,
        expects=expects(text),
        numbers=frozenset(numbers(bare)),
        names=frozenset(_question_names(bare)),
        # "the two articles" asks nothing of a passage, nor "come up" or "mentioned"
        words=frozenset(content_words(_ABOUT_TEXT.sub(" ", bare))),
        qualifiers=frozenset(qualifiers(bare)),
        multi=is_multi_article(text),
        yes_no=is_yes_no(text),
        timeline=timeline,
        role=office[1] or role_asked(text),
        role_of=office[0],
        besides=frozenset(n for m in _BESIDES.finditer(text) for n in names(f"x {m.group(1)}")),
    )


def expects(question: str) -> Expect:
    """The kind of thing an answer to ``question`` must state, or "" when it is open."""
    q = question.lower()
    if re.search(r"\bhow (?:many|much|long|old|far|large|big|tall|high|often|fast|deep|wide)\b", q):
        return "number"
    if re.search(r"\bwhat (?:percentage|percent|proportion|share|number|amount|fraction)\b", q):
        return "number"
    if re.search(r"\bwhen\b", q) or re.search(
        r"\b(?:what|which|in what|in which|on what|on which) "
        r"(?:year|years|date|dates|day|month|century|decade|era|period|time)\b",
        q,
    ):
        return "date"
    if re.match(r"\s*(?:who|whom|whose)\b", q) or re.search(r"\b(?:by|to|of|for) whom\b", q):
        return "name"
    if re.match(r"\s*where\b", q) or re.search(
        r"\b(?:in|at|from|to) (?:what|which) (?:country|city|town|region|place|state|province)\b",
        q,
    ):
        return "name"
    return ""


# "After that, tell me ...": a sentence ordering the requests, not the events asked about.
_SEQUENCING = re.compile(
    r"(?:^|(?<=[.!?;:]))\s*(?:after|before) (?:that|this),?\s+(?:please )?(?=(?:tell|give|say|"
    r"answer|list|explain|show|print|write|describe|summari[sz]e|repeat|let)\b)",
    re.IGNORECASE,
)


def qualifiers(text: str) -> set[str]:
    """The negation, order and comparison words of ``text`` ("n't" counts as "not")."""
    found: set[str] = set()
    text = _SEQUENCING.sub(" ", text)
    words = [w.lower() for w in _WORD.findall(text.replace("’", "'"))]
    for i, w in enumerate(words):
        following = words[i + 1] if i + 1 < len(words) else ""
        previous = words[i - 1] if i else ""
        if w.endswith("n't") or w in _NEGATIONS:
            found.add("not")
        elif w == "last" and (not following or following in _DATE_WORDS):
            continue  # "last week" dates the question; "will it last" is a verb
        elif w == "most" and following in ("recent", "recently"):
            continue  # "the most recent round" asks for the newest (rag.timeframe), no more
        elif w in _QUALIFIERS:
            found.add(w)
        elif w in _ORDINALS and previous not in _PER and not previous.isdigit():
            found.add(w)  # "the second law" (not "per second", "a second", "30 second")
    return found


# How evidence says an order word a question turns on: "After Braddock died, who ...?" is
# answered by "Following the death of Braddock, William Shirley ...".  Only the evidence is
# read this way: a question's "later" or "previously" asks nothing of the order.  Each
# form maps to the qualifier it says.
_SAID_AS = {
    form: qualifier
    for qualifier, forms in {
        "after": ("following", "subsequent", "subsequently", "afterwards", "afterward", "later"),
        "before": ("prior", "previously", "preceding", "beforehand"),
        "first": ("initially", "originally"),
    }.items()
    for form in forms
}


def said_qualifiers(text: str) -> set[str]:
    """The qualifiers ``text`` says (``qualifiers``), counting the other words evidence
    uses for an order ("following the death of" for "after"; not "the following")."""
    found = qualifiers(text)
    words = [w.lower() for w in _WORD.findall(text)]
    for i, w in enumerate(words):
        qualifier = _SAID_AS.get(w)
        if qualifier and not (w == "following" and i and words[i - 1] == "the"):
            found.add(qualifier)
    return found


def own_qualifiers(shape: Question, said: Sequence[str]) -> Question:
    """``shape`` of a follow-up rewritten from the chat, turning only on the negation,
    order and comparison words the user wrote (``said``: their questions, this one last).
    "What might those options be?" after an answer quoting "was not helpful" is rewritten
    with that "not", but asks no negation of the evidence; "largest" from the user's
    earlier "Which was the largest strike?" still counts in "And in May?"."""
    return replace(shape, qualifiers=shape.qualifiers & frozenset(qualifiers(" ".join(said))))


# "Who else, besides Blumenthal, ...?", "Which country other than France ...?": the names
# after it are what the answer must go beyond.
_BESIDES = re.compile(
    r"\b(?i:besides|other than|apart from|aside from|except(?: for)?|in addition to)\s+"
    r"((?:[A-Z][\w'’.-]*)(?:\s+[A-Z][\w'’.-]*)*)"
)
# A run of capitalised words: one name ("Senator Richard Blumenthal").
_NAME_RUN = re.compile(r"[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*")


def besides_phrase(question: str) -> str:
    """The phrase of ``question`` setting names aside ("besides Blumenthal"), or ""."""
    found = _BESIDES.search(question)
    return found.group(0) if found else ""


def names_only_besides(question: Question, texts: Sequence[str]) -> bool:
    """Whether ``texts`` (an answer's sentences) name no one but the names the question
    sets aside ("Who else, besides Blumenthal, ...?" answered "Senator Richard
    Blumenthal"): a name counts as set aside with every word run together with it; the
    question's other names are not an answer either."""
    if not question.besides:
        return False
    for text in texts:
        for run in _NAME_RUN.finditer(text):
            stems = names(f"x {run.group(0)}")
            if stems and not stems & question.besides and not stems <= question.names:
                return False
    return True


# Words about the text rather than its subject: "What issues come up in the articles?",
# "the basis mentioned for ...". A passage answers without saying them. ("came up with"
# is "invented", a content word.)
_ABOUT_TEXT = re.compile(
    r"\b(?:come|comes|came|coming) up\b(?! with\b)|\b(?:mentioned|brought up|touched on)\b",
    re.IGNORECASE,
)
# The words of a question asking for a development over time ("how did the talks unfold",
# "what has happened with the bill", "a timeline of the strikes").
_DEVELOPING = re.compile(
    r"\b(?:develop(?:ed|ing|ments?)?|evolv(?:e|ed|ing)|unfold(?:ed|ing)?|progress(?:ed)?|"
    r"happen(?:ed|ing)?|timeline|chronolog(?:y|ical(?:ly)?)|over time|so far|changed?)\b",
    re.IGNORECASE,
)
_TIMELINE = re.compile(
    r"\bhow (?:did|has|have|had|does|do) .{1,80}?\b(?:develop(?:ed)?|evolve[d]?|unfold(?:ed)?|"
    r"progress(?:ed)?|change[d]?)\b"
    r"|\bwhat (?:has |have |had )?happened (?:with|to|in|since|over|on)\b"
    r"|\btimeline\b|\bchronolog|\bover time\b|\bsequence of events\b",
    re.IGNORECASE,
)


# "Who is the Kremlin's spokesman?", "Who was the director of the society in 1914?": the
# noun after the determiner or possessive, up to a preposition or the end.
_ROLE = re.compile(
    r"^\s*who(?:['’]s|\s+(?:is|was|are|were|will be|has been|had been))\s+"
    r"(?:(?:the|an|a)\s+|[\w.-]+['’]s?\s+)"
    r"(?:[\w'’-]+\s+){0,3}?([A-Za-z-]+)"
    r"(?=\s+(?:of|for|at|in|on|to|behind|from|that|who|with|during|under|between|since|"
    r"according)\b|\s*[?.!]*\s*$)",
    re.IGNORECASE,
)
# Nouns that name no role: "Who was the first person to ...".
_NO_ROLE = frozenset(
    ["person", "people", "man", "men", "woman", "women", "one", "ones", "individual", "someone"]
)


def role_asked(question: str) -> str:
    """The role a "who is the <role> ...?" question asks to fill, lower case, or "".

    "Who is the Kremlin's spokesman?" is not answered by a sentence about an analyst:
    whoever the answer names, the evidence has to call them the spokesman.
    """
    found = _ROLE.match(question)
    if not found:
        return ""
    role = found.group(1).lower()
    if role in _NO_ROLE or role in _STOP or role.endswith(("ed", "ing")):
        return ""
    return role


# Offices a person holds for a country or an organisation: "Ukraine's president".
_OFFICES = (
    "president|spokesman|spokeswoman|spokesperson|minister|leader|chief|head|ambassador|"
    "envoy|negotiator|commander|secretary|chancellor|premier|king|queen|ceo|chairman|"
    "chairwoman|governor|mayor|director|founder"
)
_OFFICE = re.compile(
    r"\b((?:[A-Z][\w-]*\s+){0,2}[A-Z][\w-]*)['’]s\s+(?:[\w-]+\s+){0,2}?(?i:(" + _OFFICES + r"))\b"
)


def office_of(question: str) -> tuple[str, str]:
    """(whose, which office) for a question naming someone by their office ("How did
    Ukraine's president respond?" -> ("ukraine", "president")), else ("", "").

    Whoever the answer names, the evidence must give them that office *of that owner*:
    a passage calling someone else "President" does not make him Ukraine's.
    """
    found = _OFFICE.search(question)
    if not found:
        return "", ""
    owner = [w for w in found.group(1).split() if w.lower() not in _STOP]
    return " ".join(owner).lower(), found.group(2).lower()


def office_phrase(question: str) -> str:
    """The words ``question`` names an office by, as written: "the Kremlin's spokesman"
    ("the" kept when the question has it), or "" when it names none."""
    found = _OFFICE.search(question)
    if not found:
        return ""
    the = re.search(r"\bthe\s+$", question[: found.start()], re.IGNORECASE)
    start = the.start() if the else found.start()
    return " ".join(question[start : found.end()].split())


def is_timeline(question: str) -> bool:
    """Whether ``question`` asks how something developed over time ("how did the talks
    unfold", "what has happened with the sanctions bill", "a timeline of ...")."""
    return bool(_TIMELINE.search(question))


def is_yes_no(question: str) -> bool:
    """Whether ``question`` is answered by yes or no ("Do the articles agree ...?")."""
    q = question.strip().lower()
    if re.match(r"(?:can|could|would|will) you\b", q):  # a request, not a yes/no question
        return False
    return bool(
        re.match(r"(?:do|does|did|is|are|was|were|can|could|has|have|had|will|would|should)\b", q)
    )


def _question_names(text: str) -> set[str]:
    found: set[str] = set()
    for start, end in sentence_spans(text) or [(0, len(text))]:
        words = _WORD.findall(undotted(text[start:end]))
        for i, w in enumerate(words):
            bare = re.split(r"['’]", w)[0].lower()  # "What's" is "what"
            if not w[0].isupper() or w.isdigit() or bare in _STOP:
                continue
            if i == 0 and (bare in _WH_OPENERS or bare in _IMPERATIVES):
                continue
            if bare in _COMMON_ACRONYMS:  # "Which TV programme": a kind of thing, not a name
                continue
            found |= {n for n in names(f"x {w}")}
    return found


# Units a number can measure in, by kind: "How many bombers?" is not answered by
# "thousands of kilometres", "How many years?" is by "three decades".
_UNIT_WORDS = {
    "time": "second seconds minute minutes hour hours day days week weeks month months year "
    "years decade decades century centuries",
    "distance": "mm cm km kilometre kilometres kilometer kilometers metre metres meter meters "
    "mile miles foot feet inch inches yard yards",
    "weight": "kg kilogram kilograms gram grams tonne tonnes ton tons",
    "area": "hectare hectares acre acres",
    "volume": "litre litres liter liters gallon gallons barrel barrels",
    "money": "dollar dollars euro euros",
}
_UNITS = {word: kind for kind, words in _UNIT_WORDS.items() for word in words.split()}
_MEASURE = re.compile(
    r"(\d[\d,.]*|\b(?:"
    + "|".join(sorted(_QUANTITY_WORDS))
    + r"|(?:thir|four|fif|six|seven|eigh|nine)teen|"
    r"(?:twen|thir|for|fif|six|seven|eigh|nine)ty|one|two|three|four|five|six|seven|eight|nine|"
    r"ten|eleven|twelve)\b)\s+(?:of\s+)?([a-z]+)\b",
    re.IGNORECASE,
)


def foreign_measures(text: str, question: str) -> set[str]:
    """The numbers and quantity words of ``text`` that measure in a unit of another kind
    than a "how many ...?" question counts: its answer is a count of that thing."""
    asked = re.search(r"\bhow many ((?:[\w-]+\s+){0,2}[\w-]+)", question, re.IGNORECASE)
    if not asked:
        return set()
    kinds = {_UNITS[w] for w in asked.group(1).lower().split() if w in _UNITS}
    found: set[str] = set()
    for m in _MEASURE.finditer(text):
        kind = _UNITS.get(m.group(2).lower())
        if kind and kind not in kinds:
            found |= numbers(m.group(1)) | {m.group(1).lower()}
    return found


# A period counted by an ordinal answers "which year/day ...": "the third year of the war".
_ORDINAL_PERIOD = re.compile(
    r"\b(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|"
    r"twelfth|\d+(?:st|nd|rd|th))\s+(?:year|month|week|day|century|decade|quarter)s?\b",
    re.IGNORECASE,
)


def holds_type(text: str, kind: Expect, question: Question) -> bool:
    """Whether ``text`` states a ``kind`` (date, number, name) the question does not already."""
    if not kind:
        return True
    words = [w for w in _WORD.findall(text)]
    lower = [w.lower() for w in words]
    new_numbers = numbers(text) - question.numbers
    if kind == "number":
        measures = foreign_measures(text, question.text)
        return bool(new_numbers - measures) or any(
            w in _QUANTITY_WORDS and w not in measures for w in lower
        )
    if kind == "date":  # a year, a day or month, a period: a count ("four regions") is none
        years = {n for n in new_numbers if re.fullmatch(r"\d{3,4}s?", n)}
        asked = question.text.lower()
        return (
            bool(years)
            or any(
                (w in _CALENDAR or w.lower() in _DATE_WORDS) and w.lower() not in asked
                for w in words
            )
            or bool(_ORDINAL_PERIOD.search(text))  # "in the third year of the war"
        )
    # a name: a capitalised word that is not a stopword and not one the question names
    return any(
        w[0].isupper()
        and not w.isdigit()
        and w.lower() not in _STOP
        and not (names(f"x {w}") & question.names)
        for w in words
    )
