"""Align recognised words to transcript words (no Qt, no model).

A Needleman–Wunsch style dynamic programme over normalised tokens with a fuzzy
character similarity, plus 1:2 and 2:1 moves so "mi empresa" heard can stand for
"miempresa" written (and the reverse). Substitutions are preferred over a pair of gaps,
so audio that says something else lines up with the words it replaced, and only the
transcript words after the last heard audio end up unaligned at the tail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.verify.normalize import similarity

GAP = -0.45


def _score(sim: float) -> float:
    return 2.0 * sim - 1.0


@dataclass(slots=True)
class TokenLink:
    heard: list[int] = field(default_factory=list)   # indices of heard tokens
    sim: float = 0.0


def _best_move(written: list[str], heard: list[str], score: list[list[float]], i: int, j: int
               ) -> tuple[float, tuple[int, int, float] | None]:
    """The best way to reach cell (i, j): (score, (written used, heard used, similarity))."""
    best, arg = float("-inf"), None
    if i > 0 and j > 0:
        s = similarity(written[i - 1], heard[j - 1])
        v = score[i - 1][j - 1] + _score(s)
        if v > best:
            best, arg = v, (1, 1, s)
    if i > 0 and score[i - 1][j] + GAP > best:
        best, arg = score[i - 1][j] + GAP, (1, 0, 0.0)
    if j > 0 and score[i][j - 1] + GAP > best:
        best, arg = score[i][j - 1] + GAP, (0, 1, 0.0)
    # a number never merges with a word ("costs" is not "cost" + "15")
    if i > 0 and j > 1 and heard[j - 2].isdigit() == heard[j - 1].isdigit():   # one written token heard as two
        s = similarity(written[i - 1], heard[j - 2] + heard[j - 1])
        v = score[i - 1][j - 2] + _score(s) + 0.05
        if v > best and s >= 0.6:
            best, arg = v, (1, 2, s)
    if i > 1 and j > 0 and written[i - 2].isdigit() == written[i - 1].isdigit():   # two written as one
        s = similarity(written[i - 2] + written[i - 1], heard[j - 1])
        v = score[i - 2][j - 1] + _score(s) + 0.05
        if v > best and s >= 0.6:
            best, arg = v, (2, 1, s)
    return best, arg


def align_tokens(written: list[str], heard: list[str]) -> list[TokenLink]:
    """For each written token: which heard tokens it lines up with, and how similar."""
    n, m = len(written), len(heard)
    score = [[float("-inf")] * (m + 1) for _ in range(n + 1)]
    back: list[list[tuple[int, int, float] | None]] = [[None] * (m + 1) for _ in range(n + 1)]
    score[0][0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            if i or j:
                score[i][j], back[i][j] = _best_move(written, heard, score, i, j)
    links = [TokenLink() for _ in range(n)]
    i, j = n, m
    while i > 0 or j > 0:
        di, dj, s = back[i][j]  # type: ignore[misc]
        if di and dj:
            hs = list(range(j - dj, j))
            for k in range(i - di, i):
                links[k].heard = hs
                links[k].sim = s
        i, j = i - di, j - dj
    return links
