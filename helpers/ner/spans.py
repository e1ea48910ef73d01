"""Candidate spans of a tokenized sentence, found from its casing (step 1 of ``ZeroShotNER``)."""

from __future__ import annotations

import re
from collections.abc import Sequence

SPAN_FILTERS = ("casing", "capitalized", "none")
DEFAULT_MAX_SPAN_LEN = 3

# Words that are never a name on their own, whatever their casing (a sentence-initial "The").
FUNCTION_WORDS = frozenset("""
a an the and or but nor of in on at to for from by with without as into onto upon about above below over
under after before since until while during between among through against is are was were be been being
am do does did have has had will would shall should can could may might must i me my mine we us our ours
you your yours he him his she her hers it its they them their theirs this that these those there here
what which who whom whose when where why how not no yes so if then than too very also just only all any
some each every both either neither s 's rt via amp u ur im lol omg smh idk gonna wanna
""".split())
# Lower-case words that may sit inside a name between two capitalised ones; where casing
# says nothing, only the first few may sit inside a candidate ("bank of america").
CONNECTORS = frozenset("of de du des da del della la le van von der den di y & and for the 's".split())
UNCASED_CONNECTORS = frozenset("of de & 's".split())


def _has_letter(token: str) -> bool:
    return any(c.isalpha() for c in token)


def _is_url(token: str) -> bool:
    return token.lower().startswith(("http:", "https:", "www."))


def _is_tag(token: str) -> bool:
    """An @mention or #hashtag."""
    return len(token) > 1 and token[0] in "@#" and _has_letter(token)


def _name_like(token: str) -> bool:
    if _is_tag(token):
        return True
    return _has_letter(token) and token[0].isupper() and token.lower() not in FUNCTION_WORDS and not _is_url(token)


def _content(token: str) -> bool:
    return _has_letter(token) and token.lower() not in FUNCTION_WORDS and not _is_url(token)


def casing_is_informative(tokens: Sequence[str]) -> bool:
    """Whether capitals mark names in this sentence.

    Not in a headline written in capitals (most words all-caps), a Title Case line (no
    lower-case word after the first), or a text with no capitalised word after the first
    (lower-case tweets); short lines of one or two words count as informative.
    """
    words = [t for t in tokens if _has_letter(t) and not _is_tag(t) and not _is_url(t)]
    if not words:
        return False
    all_caps = sum(len(t) > 1 and t.isupper() for t in words)
    lower = sum(t[0].islower() for t in words[1:])
    upper = sum(t[0].isupper() for t in words[1:])
    if all_caps > len(words) / 2:
        return False
    if lower == 0 and len(words) > 2:
        return False
    return not (upper == 0 and len(words) > 3)


def candidate_spans(tokens: Sequence[str], max_span_len: int = DEFAULT_MAX_SPAN_LEN,
                    span_filter: str = "casing", max_run_len: int = 8, mentions: bool = False) -> list[tuple[int, int]]:
    """Candidate (start, end) spans of one tokenized sentence, sorted.

    ``span_filter``:
    - ``"casing"`` (default): maximal runs of capitalised tokens (a run of up to
      ``max_run_len`` tokens is itself a candidate) and their sub-spans of up to
      ``max_span_len`` tokens that start and end on a capitalised token; in a sentence whose
      casing says nothing (``casing_is_informative``), every n-gram of up to
      ``max_span_len`` content words (or "of", "de", "&", "'s" inside); a ``#hashtag`` is a
      candidate of its own, never part of a longer one; an ``@mention`` is one only with
      ``mentions=True`` (it names an account, which social-media NER corpora such as
      WNUT 2017 leave untagged);
    - ``"capitalized"``: every n-gram of up to ``max_span_len`` tokens whose first and last
      tokens start with a capital (the simpler filter notebook 5 starts from);
    - ``"none"``: every n-gram of up to ``max_span_len`` tokens.
    """
    if span_filter not in SPAN_FILTERS:
        raise ValueError(f"span_filter must be one of {SPAN_FILTERS}, not {span_filter!r}")
    if max_span_len < 1:
        raise ValueError("max_span_len must be at least 1")
    n = len(tokens)
    if span_filter != "casing":
        keep = (lambda s, e: True) if span_filter == "none" else (
            lambda s, e: tokens[s][:1].isupper() and tokens[e - 1][:1].isupper())
        return [(s, e) for s in range(n) for e in range(s + 1, min(n, s + max_span_len) + 1) if keep(s, e)]
    spans: set[tuple[int, int]] = set()
    if not casing_is_informative(tokens):
        ok = [_content(t) and not _is_tag(t) for t in tokens]
        inner = [o or t.lower() in UNCASED_CONNECTORS for o, t in zip(ok, tokens)]
        for s in range(n):
            for e in range(s + 1, min(n, s + max_span_len) + 1):
                if ok[s] and ok[e - 1] and all(inner[s:e]):
                    spans.add((s, e))
        spans.update((i, i + 1) for i, t in enumerate(tokens) if _is_tag(t) and (mentions or t[0] == "#"))
        return sorted(spans)
    ok = [_name_like(t) and not _is_tag(t) for t in tokens]
    spans.update((i, i + 1) for i, t in enumerate(tokens) if _is_tag(t) and (mentions or t[0] == "#"))
    i = 0
    while i < n:
        if not ok[i]:
            i += 1
            continue
        j = i + 1  # extend the run, across up to two connectors between name-like tokens
        while j < n:
            if ok[j]:
                j += 1
                continue
            k = j
            while k < n and k - j < 2 and tokens[k].lower() in CONNECTORS:
                k += 1
            if j < k < n and ok[k]:
                j = k
                continue
            break
        for s in range(i, j):
            for e in range(s + 1, min(j, s + max_span_len) + 1):
                if ok[s] and ok[e - 1]:
                    spans.add((s, e))
        if j - i <= max_run_len:
            spans.add((i, j))
        i = j
    return sorted(spans)


def span_text(tokens: Sequence[str]) -> str:
    """The words a prompt shows for a span: "@united" -> "united", "#NewYork" -> "New York"."""
    words = []
    for t in tokens:
        if _is_tag(t):
            t = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", t[1:].replace("_", " "))
        words.append(t)
    return " ".join(words)
