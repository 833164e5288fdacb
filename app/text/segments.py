"""Sentence and word spans over a transcript.

Every part of Verbatim that talks about "segment 3" or "word 12" (verifier, engine
ground truth, transcript view, subtitle export) must agree on the same spans, so the
rules live here and nowhere else. Offsets index the original string (Python str
indices) so the UI can colour exactly the characters the user sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Sentence enders; a run of them ("?!", "...") ends one sentence together.
_TERMINATORS = set(".!?;…。！？；")
# Characters that may close a sentence after its terminator: quotes, brackets.
_CLOSERS = set("\"'”’»)]}」』")
# Abbreviations whose dot does not end a sentence (lower-cased, without the dot).
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "sra", "srta", "st", "vs", "approx",
    "e.g", "i.e", "p.ej", "z.b", "d.h", "bzw", "mme", "mlle", "dott", "sig", "ca",
}
# Realtime models sometimes leak special tokens such as <|endoftext|> into text.
CONTROL_TOKEN_RE = re.compile(r"<\|[^|<>]{0,64}\|>")   # "<|…|>" tokens leaking into text

# Raw word candidates: letters, digits and the symbols that are spoken ("@", "%", "&").
_RAW_WORD_RE = re.compile(r"[\w@%&$€£#+'’.\-:,/]+")
_EDGE_PUNCT = "'’.-:,/"
# Inside a word, ',', ':' and '/' only stay when between digits (1,000 / 10:30 / 3/4).
_INNER_SPLIT_RE = re.compile(r"(?<!\d)[,:/]|[,:/](?!\d)")


@dataclass(frozen=True, slots=True)
class Span:
    """A slice of the original text: text == original[start:end]."""

    text: str
    start: int
    end: int


def strip_control_tokens(text: str) -> str:
    """Remove leaked control tokens like '<|endoftext|>' and tidy the spaces they leave."""
    cleaned = CONTROL_TOKEN_RE.sub("", text)
    if cleaned == text:
        return text
    return re.sub(r"[ \t]{2,}", " ", cleaned).strip()


def _word_before(text: str, pos: int) -> str:
    """The run of non-space characters ending at text[pos] (exclusive of pos)."""
    start = pos
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    return text[start:pos]


def _ends_sentence(text: str, i: int) -> int | None:
    """If a sentence ends with the terminator at text[i], return the end offset."""
    j = i
    while j < len(text) and text[j] in _TERMINATORS:
        j += 1
    while j < len(text) and text[j] in _CLOSERS:
        j += 1
    if j < len(text) and not text[j].isspace():
        return None  # "miempresa.com", "3.5", "a.m" keep going
    if text[i] == ".":
        before = _word_before(text, i).lower().lstrip("\"'(¿¡“«")
        if before in _ABBREVIATIONS:
            return None
    return j


def split_sentences(text: str) -> list[Span]:
    """Split at . ! ? ; … and line breaks, keeping e-mail addresses and numbers whole.

    Spans exclude surrounding white space; spans without any word are dropped (a lone
    "..." is not a sentence anyone can speak).
    """
    spans: list[Span] = []
    start = 0
    i = 0
    n = len(text)

    def emit(s: int, e: int) -> None:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e and split_words(text, s, e):
            spans.append(Span(text[s:e], s, e))

    while i < n:
        ch = text[i]
        if ch == "\n" or ch == "\r" or ch == "\u2028":
            emit(start, i)
            start = i + 1
            i += 1
            continue
        if ch in _TERMINATORS:
            end = _ends_sentence(text, i)
            if end is not None:
                emit(start, end)
                start = end
                i = end
                continue
            # skip the whole run of terminators so "..." is judged once
            while i + 1 < n and text[i + 1] in _TERMINATORS:
                i += 1
        i += 1
    emit(start, n)
    return spans


def split_words(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Words of text[start:end] with offsets into text.

    A word keeps inner apostrophes, hyphens and dots ("That's", "e-mail",
    "miempresa.com", "3.5"); spoken symbols ("@", "%", "&") are words of their own
    when they stand alone.
    """
    if end is None:
        end = len(text)
    words: list[Span] = []
    for m in _RAW_WORD_RE.finditer(text, start, end):
        # split at commas/colons/slashes that are not inside a number
        pieces: list[tuple[int, int]] = []
        seg_start = m.start()
        for cut in _INNER_SPLIT_RE.finditer(text, m.start(), m.end()):
            pieces.append((seg_start, cut.start()))
            seg_start = cut.end()
        pieces.append((seg_start, m.end()))
        for s, e in pieces:
            while s < e and text[s] in _EDGE_PUNCT:
                s += 1
            while e > s and text[e - 1] in _EDGE_PUNCT:
                e -= 1
            if s < e:
                words.append(Span(text[s:e], s, e))
    return words
