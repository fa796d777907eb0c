"""The source checkout around the package: the one module that knows its layout.

rag runs from its source folder (``pip install -e .``, as ``make`` does) or as an
installed package.  A few things exist only in the source folder, beside ``rag/``: the
labelled eval suites and their articles (``eval/seeds.jsonl`` with ``seeds/``,
``eval/dated.jsonl`` with ``eval/dated/articles/``), the committed eval reports
(``eval/reports/``), and the git history an eval run records its commit from.  Every
path into the checkout is built here; run elsewhere, ``find`` also looks in the working
directory, so a copy of ``eval/`` and ``seeds/`` there works too.  (The chat page is not
looked up here: ``ui`` is a package installed with ``rag``.)
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
"""The folder holding the ``rag`` package: the checkout, when rag runs from one."""


def find(*relative: str) -> Path | None:
    """The checkout, else the working directory, if it holds every path in ``relative``
    (``"eval/seeds.jsonl"``, ``"seeds"`` ...); None when neither does."""
    for root in (ROOT, Path.cwd()):
        if all((root / part).exists() for part in relative):
            return root
    return None


def floors() -> Path:
    """The floors CI holds the seed suite to, and the run they were measured on."""
    return ROOT / "eval" / "floors.json"


def committed_reports() -> Path:
    """The eval reports committed with the code, one folder per run (``*/results.json``)."""
    return ROOT / "eval" / "reports"
