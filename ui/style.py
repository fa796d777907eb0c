"""The chat page's own stylesheet and script: fixed text written here, never article or
model text (that is escaped by ``ui/render.py``)."""

from __future__ import annotations

CSS = """
<style>
.block-container {padding-top: 2.2rem;}
.rag-article-head h1 {font-size: 1.35rem; line-height: 1.35; margin: 0 0 .3rem 0; padding: 0;}
.rag-article-head .rag-meta {color: #5b6475; font-size: .85rem;}
.rag-article-head code {font-size: .8rem; background: #eef1f7; padding: .05rem .3rem;
  border-radius: .25rem; color: #1d2433;}
sup.rag-cite {display: inline-block; min-width: 1.25em; padding: 0 .32em; margin: 0 .08em;
  border-radius: .6em; background: #2f5bd3; color: #fff !important; font-size: .68em;
  font-weight: 600; line-height: 1.45; text-align: center; vertical-align: super;
  cursor: help;}
a.rag-cite-link, a.rag-cite-link:hover {text-decoration: none;}
span.rag-unsupported {text-decoration: underline wavy #d9822b; text-underline-offset: 3px;
  background: #fff4e5;}
span.rag-uncited {text-decoration: underline dotted #8a94a6; text-underline-offset: 3px;}
.rag-answer {white-space: pre-wrap; font-size: 1rem; line-height: 1.6; color: #1d2433;
  margin: 0 0 .25rem 0;}
.rag-answer.rag-user {margin: 0;}
.rag-caret {color: #2f5bd3;}
.rag-checking {color: #5b6475; font-size: .85rem; font-style: italic; margin: .2rem 0 0 0;}
.rag-card {border: 1px solid #e3e7ef; border-left: 4px solid #2f5bd3; border-radius: .5rem;
  padding: .6rem .8rem .55rem .8rem; margin: 0 0 .2rem 0; background: #fbfcfe;}
.rag-card.rag-weak {border-left-color: #d9822b;}
.rag-card .rag-head {display: flex; gap: .5rem; align-items: baseline;}
.rag-card .rag-title {font-weight: 600; color: #1d2433;}
.rag-card .rag-meta {color: #5b6475; font-size: .8rem; margin: .1rem 0 .35rem 0;}
.rag-card .rag-meta code {font-size: .78rem; background: #eef1f7; padding: .05rem .3rem;
  border-radius: .25rem; color: #1d2433;}
.rag-card .rag-text {white-space: pre-wrap; font-size: .88rem; line-height: 1.5;
  color: #394150;}
.rag-card mark, .rag-article mark {background: #fde68a; color: inherit; padding: 0 .1em;
  border-radius: .15em;}
.rag-ok {color: #1a7f37;} .rag-warn {color: #b35c00;}
.rag-badge {display: inline-block; font-size: .72rem; padding: .05rem .45rem;
  border-radius: .6rem; background: #eef1f7; color: #394150;}
.rag-article {white-space: pre-wrap; font-size: .98rem; line-height: 1.65; color: #1d2433;
  max-width: 46rem;}
.rag-article .rag-passage {background: #e6edff; box-shadow: -6px 0 0 #e6edff, 6px 0 0 #e6edff;
  border-radius: .2em;}
.rag-library {border: 1px solid #e3e7ef; border-radius: .5rem; padding: .7rem 1rem .5rem 1rem;
  background: #fbfcfe; font-size: .9rem; color: #1d2433;}
.rag-library ul {margin: .35rem 0 0 0; padding-left: 1.1rem;}
.rag-library li {margin: 0 0 .3rem 0;}
.rag-library .rag-meta {color: #5b6475; font-size: .8rem;}
.rag-library code {font-size: .78rem; background: #eef1f7; padding: .05rem .3rem;
  border-radius: .25rem; color: #1d2433;}
.rag-found ul {margin: .1rem 0 .2rem 0; padding-left: 1.1rem; font-size: .85rem;
  color: #394150;}
.rag-found .rag-meta {color: #5b6475; font-size: .78rem;}
.rag-found code {font-size: .75rem; background: #eef1f7; padding: .05rem .3rem;
  border-radius: .25rem; color: #1d2433;}
.rag-chip {display: inline-block; padding: .15rem .6rem; border-radius: 1rem;
  background: #eef1f7; border: 1px solid #d6dbe6; font-size: .85rem; color: #1d2433;}
.rag-chip .rag-meta {color: #5b6475; font-size: .78rem;}
.rag-dot {display: inline-block; width: .55rem; height: .55rem; border-radius: 50%;
  margin-right: .35rem; vertical-align: middle;}
</style>
"""

# Our own script (no article or model text in it): bring the cited passage into view.
SCROLL_TO_PASSAGE = """
<script>
(function () {
  var tries = 0;
  function go() {
    var el = document.getElementById("rag-cited");
    if (el) { el.scrollIntoView({block: "center"}); return; }
    if (++tries < 50) { setTimeout(go, 100); }
  }
  go();
})();
</script>
"""
