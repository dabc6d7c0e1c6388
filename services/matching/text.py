"""Chinese text analysis: normalisation, segmentation, stop words, synonyms and highlighting.

Documents and queries go through the same steps, so a query term and the text it should find always
meet in the same form: NFKC (full-width to half-width), lower-case Latin, simplified Chinese, then
jieba search-mode segmentation (a word and its dictionary sub-words, e.g. 锂离子 → 离子 锂离子).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import opencc
import rjieba

SYNONYMS_PATH = Path(__file__).resolve().parent / "data" / "synonyms.txt"

# Runs of letters and digits: what is left of a token once punctuation is gone (``_`` counts as punctuation).
_WORD = re.compile(r"[^\W_]+")
# Patent and standard numbers (ZL202110123456.7, GB/T 2260-2007): kept whole, as the exact fields are indexed.
_CODE = re.compile(r"[0-9a-z][0-9a-z./-]*[0-9a-z]")
_MIN_CODE_LENGTH = 6
_WHOLE_CODE = re.compile(r"[0-9a-z./\- ]+")

STOP_WORDS_PATH = Path(__file__).resolve().parent / "data" / "stopwords.txt"


def _read_words(path: Path) -> frozenset[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(word for line in lines if not line.lstrip().startswith("#") for word in line.split())


STOP_WORDS = _read_words(STOP_WORDS_PATH)


@cache
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalise(text: str) -> str:
    """Full-width → half-width, lower-case Latin, traditional → simplified Chinese."""
    return str(_converter().convert(unicodedata.normalize("NFKC", text).lower()))


def _words_of(token: str) -> Sequence[str]:
    if token.isalnum():
        return (token,)
    # Punctuation and spaces come one character at a time; mixed tokens (glp-1, 3.5kw) split into their words.
    return _WORD.findall(token) if len(token) > 1 else ()


def _content_words(raw_tokens: Iterable[str]) -> list[str]:
    # The hot loop of indexing (~150 tokens a document): one comprehension, no per-token regex for plain words.
    return [word for token in raw_tokens for word in _words_of(token) if word not in STOP_WORDS]


def segment(normalised: str) -> list[str]:
    """Search-mode tokens of already normalised text, without punctuation and stop words."""
    return _content_words(rjieba.cut_for_search(normalised))


def tokens(text: str) -> list[str]:
    """Index tokens of ``text`` (repeats kept: they count for ranking)."""
    return segment(normalise(text))


def exact_token(value: str) -> str:
    """One token for a code-like value, punctuation removed: ZL 2021 1012.3 → zl202110123."""
    return "".join(_WORD.findall(normalise(value)))


def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _code(candidate: str) -> str | None:
    compact = "".join(_WORD.findall(candidate))
    return compact if len(compact) >= _MIN_CODE_LENGTH and any(char.isdigit() for char in compact) else None


def query_terms(text: str) -> list[str]:
    """Distinct terms of a query: its tokens, synonym-list phrases it contains, and code-like values whole."""
    normalised = normalise(text)
    codes: list[str] = []

    def take_code(match: re.Match[str]) -> str:
        code = _code(match.group())
        if code is None:
            return match.group()
        codes.append(code)
        return " "

    words = segment(_CODE.sub(take_code, normalised))
    # A query that is nothing but a code may be written with spaces: ZL 2021 1 0123456.7.
    if _WHOLE_CODE.fullmatch(normalised) and (whole := _code(normalised)) is not None:
        codes.append(whole)
    phrases = _synonyms().phrase_pattern.findall(normalised)
    return _dedupe([*words, *phrases, *codes])


def expand(terms: Sequence[str]) -> list[str]:
    """``terms`` followed by their synonyms, each once."""
    table = _synonyms().equivalents
    return _dedupe([*terms, *(synonym for term in terms for synonym in table.get(term, ()))])


def query_units(text: str) -> list[tuple[str, ...]]:
    """The query's terms, each with its synonyms, in query order: what a document must match to match "all words".

    A token inside a synonym phrase of the query belongs to the phrase (低温制热 covers 低温 and 制热), so a
    document that says 低环境温度供热 instead matches the whole unit.
    """
    terms = query_terms(text)
    phrases = [term for term in terms if term in _synonyms().equivalents]
    normalised = normalise(text)
    kept = [term for term in terms if not any(term != phrase and term in phrase for phrase in phrases)]
    ordered = sorted(kept, key=lambda term: position if (position := normalised.find(term)) >= 0 else len(normalised))
    return [tuple(expand([term])) for term in ordered]


def term_parts(term: str) -> list[str]:
    """The index tokens a (normalised) term becomes when written in a document."""
    parts = _synonyms().parts.get(term)
    return list(parts) if parts is not None else _dedupe(segment(term))


def synonym_groups() -> list[list[str]]:
    """The synonym groups as written in the list (original case), for engines with their own synonym support."""
    return [list(group) for group in _synonyms().groups]


@dataclass(frozen=True)
class _SynonymTable:
    groups: tuple[tuple[str, ...], ...]
    # normalised member → the other members of every group it belongs to (normalised)
    equivalents: dict[str, tuple[str, ...]]
    parts: dict[str, tuple[str, ...]]
    # finds members inside a normalised query, whatever the segmenter makes of them
    phrase_pattern: re.Pattern[str]


def _read_groups(path: Path) -> tuple[tuple[str, ...], ...]:
    groups: list[tuple[str, ...]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            members = tuple(member.strip() for member in line.split(",") if member.strip())
            if len(members) > 1:
                groups.append(members)
    return tuple(groups)


def _phrase_pattern(members: Iterable[str]) -> re.Pattern[str]:
    # Latin ends need word boundaries, or "ic" would be found inside "logic".
    alternatives = [
        ("(?<![0-9a-z])" if member[0].isascii() and member[0].isalnum() else "")
        + re.escape(member)
        + ("(?![0-9a-z])" if member[-1].isascii() and member[-1].isalnum() else "")
        for member in sorted(members, key=len, reverse=True)
    ]
    return re.compile("|".join(alternatives))


@cache
def _synonyms() -> _SynonymTable:
    groups = _read_groups(SYNONYMS_PATH)
    equivalents: dict[str, list[str]] = {}
    for group in groups:
        members = _dedupe(normalise(member) for member in group)
        for member in members:
            equivalents.setdefault(member, []).extend(other for other in members if other != member)
    return _SynonymTable(
        groups=groups,
        equivalents={member: tuple(_dedupe(others)) for member, others in equivalents.items()},
        parts={member: tuple(_dedupe(segment(member))) for member in equivalents},
        phrase_pattern=_phrase_pattern(equivalents),
    )


def _normalised_with_offsets(text: str) -> tuple[str, list[int]]:
    """``normalise(text)`` and, for each of its characters, the index of the character it came from."""
    pieces = [unicodedata.normalize("NFKC", char).lower() for char in text]
    origins = [index for index, piece in enumerate(pieces) for _ in piece]
    folded = "".join(pieces)
    converted = str(_converter().convert(folded))
    # Character-for-character conversion keeps the offsets; a rare phrase conversion that changes length does not.
    return (converted if len(converted) == len(folded) else folded), origins


def is_prefix_term(term: str) -> bool:
    """Latin words of three letters or more also match as prefixes (perov → perovskite)."""
    return term.isascii() and term.isalpha() and len(term) >= 3


def _occurrence_pattern(term: str) -> str:
    latin_start = term[0].isascii() and term[0].isalnum()
    latin_end = term[-1].isascii() and term[-1].isalnum()
    ending = "[0-9a-z]*" if is_prefix_term(term) else "(?![0-9a-z])" if latin_end else ""
    return ("(?<![0-9a-z])" if latin_start else "") + re.escape(term) + ending


@lru_cache(maxsize=256)
def _terms_pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    # One alternation, longest first, compiled once per query and reused for every hit and field.
    return re.compile("|".join(map(_occurrence_pattern, sorted(terms, key=len, reverse=True))))


def _occurrences(normalised: str, terms: Iterable[str]) -> list[re.Match[str]]:
    wanted = tuple(dict.fromkeys(term for term in terms if term))
    return list(_terms_pattern(wanted).finditer(normalised)) if wanted else []


def matched_words(normalised: str, terms: Iterable[str]) -> list[str]:
    """The words of already normalised text that the terms match (a prefix term matches its whole word)."""
    return _dedupe(match.group() for match in _occurrences(normalised, terms))


def _spans(normalised: str, terms: Iterable[str]) -> tuple[list[tuple[int, int]], list[str]]:
    """Merged spans of every occurrence of the terms, and the words that occur."""
    occurrences = _occurrences(normalised, terms)
    spans = [match.span() for match in occurrences]
    found = _dedupe(match.group() for match in occurrences)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged, found


def highlight(text: str, terms: Iterable[str]) -> tuple[str, list[str]]:
    """HTML-escaped ``text`` with the (normalised) terms wrapped in ``<em>``, and the words that matched."""
    normalised, origins = _normalised_with_offsets(text)
    spans, found = _spans(normalised, terms)
    if not spans:
        return html.escape(text), []
    parts: list[str] = []
    cursor = 0
    for start, end in spans:
        begin, finish = origins[start], origins[end - 1] + 1
        parts.append(html.escape(text[cursor:begin]))
        parts.append(f"<em>{html.escape(text[begin:finish])}</em>")
        cursor = finish
    parts.append(html.escape(text[cursor:]))
    return "".join(parts), found


def _trigrams(word: str) -> set[str]:
    padded = f"  {word} "
    return {padded[index : index + 3] for index in range(len(padded) - 2)}


def word_similarity(term: str, word: str) -> float:
    """Share of the term's trigrams found in ``word``: close to pg_trgm's ``word_similarity`` for one word."""
    wanted = _trigrams(term)
    return len(wanted & _trigrams(word)) / len(wanted)


def similar_words(term: str, words: Iterable[str], threshold: float) -> list[str]:
    """The distinct ``words`` at least ``threshold`` similar to ``term``: what a mistyped term found."""
    return [word for word in _dedupe(words) if word_similarity(term, word) >= threshold]
