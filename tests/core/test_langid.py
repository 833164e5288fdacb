"""Text language identification on short phrases (issue 12: "Où est la gare ?" was taken for Italian)."""

from collections import Counter
from pathlib import Path

import pytest

from app.core import langid
from app.core.languages import LANGUAGES

PHRASES = Path(__file__).resolve().parents[1] / "data" / "short_phrases.tsv"


def labeled_phrases() -> list[tuple[str, str]]:
    rows = []
    for line in PHRASES.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            code, text = line.split("\t")
            rows.append((code, text))
    return rows


def test_the_phrase_set_is_100_short_phrases_in_offered_languages():
    rows = labeled_phrases()
    assert len(rows) == 100
    assert {code for code, _ in rows} <= set(LANGUAGES)
    per = Counter(code for code, _ in rows)
    assert sum(per[c] for c in ("en", "es", "fr", "de", "it", "pt")) >= 70
    spaced = [text for code, text in rows if code not in ("ja", "zh")]
    assert all(3 <= len(text.split()) <= 8 for text in spaced)


def test_short_phrases_are_identified_at_least_95_percent():
    rows = labeled_phrases()
    wrong = [(code, text, langid.detect_text_language(text)) for code, text in rows]
    wrong = [w for w in wrong if w[0] != w[2]]
    assert 1 - len(wrong) / len(rows) >= 0.95, wrong


@pytest.mark.parametrize(("text", "code"), [("Où est la gare ?", "fr"),
                                             ("Exacto, it used to work fine yesterday.", "en"),
                                             ("Envíalo por favor a soporte.", "es"),
                                             # addresses are no language's words (the seed case)
                                             ("Please send it to soporte @ miempresa.com. That’s the best one.", "en"),
                                             ("Write to help@example.org or visit www.example.de today.", "en"),
                                             ("Envíalo a soporte@miempresa.com, por favor.", "es")])
def test_known_hard_cases(text, code):
    assert langid.detect_text_language(text) == code


def test_confidences_cover_only_offered_languages_and_sum_to_one():
    values = langid.confidences("Wo ist der Bahnhof?\nIch muss um zehn dort sein.")
    assert values[0][0] == "de"
    assert {code for code, _ in values} <= set(LANGUAGES)
    assert [v for _, v in values] == sorted((v for _, v in values), reverse=True)
    assert sum(v for _, v in values) == pytest.approx(1.0)


def test_nothing_to_tell_gives_the_default():
    assert langid.confidences("   \n ") == []
    assert langid.detect_text_language("", default="en") == "en"


def test_the_model_is_a_local_file_and_small():
    path = langid.model_path()
    assert path is not None and path.is_file()
    assert path.stat().st_size < 2_000_000
    assert langid.detector() is not None
