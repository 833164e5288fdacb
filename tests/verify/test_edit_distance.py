"""The bit-parallel edit distance gives exactly the textbook table's answer."""

import random

import pytest

from app.verify.normalize import _levenshtein, similarity


def _table(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


@pytest.mark.parametrize(("a", "b", "d"), [
    ("", "", 0), ("", "abc", 3), ("kitten", "sitting", 3), ("flaw", "lawn", 2),
    ("exacto", "exactly", 2), ("münchen", "munchen", 1), ("cinquenta", "50", 9),
])
def test_known_distances(a, b, d):
    assert _levenshtein(a, b) == d
    assert _levenshtein(b, a) == d


def test_agrees_with_the_table_on_random_words():
    rnd = random.Random(11)
    letters = "abcdeéñ"
    for _ in range(20000):
        a = "".join(rnd.choice(letters) for _ in range(rnd.randint(0, 14)))
        b = "".join(rnd.choice(letters) for _ in range(rnd.randint(0, 14)))
        assert _levenshtein(a, b) == _table(a, b), (a, b)


def test_long_words_past_one_machine_word():
    a, b = "a" * 70 + "xyz", "a" * 69 + "xz"
    assert _levenshtein(a, b) == _table(a, b) == 2
    assert similarity("bureau", "bureau") == 1.0
