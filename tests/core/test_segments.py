import json
from pathlib import Path

import pytest

from app.text import split_sentences, split_words, strip_control_tokens

SEED = json.loads((Path(__file__).resolve().parents[2] / "resources" / "seed-cases.json").read_text())


@pytest.mark.parametrize("case", SEED["cases"], ids=lambda c: c["id"])
def test_seed_transcripts_split_into_the_expected_number_of_segments(case):
    spans = split_sentences(case["transcript"])
    assert len(spans) == len(case["expected"])
    for s in spans:
        assert case["transcript"][s.start:s.end] == s.text


def test_email_and_numbers_stay_whole():
    t = "Please send it to soporte @ miempresa.com. It costs 3.5 euros; or 1,000 at 10:30."
    assert [s.text for s in split_sentences(t)] == [
        "Please send it to soporte @ miempresa.com.", "It costs 3.5 euros;", "or 1,000 at 10:30."]
    words = [w.text for w in split_words(t)]
    assert "miempresa.com" in words and "@" in words and "3.5" in words and "1,000" in words
    assert "10:30" in words


def test_line_breaks_quotes_and_abbreviations():
    t = 'Dr. Smith said "Yes." Then left?! Next line\nNew start'
    assert [s.text for s in split_sentences(t)] == ['Dr. Smith said "Yes."', "Then left?!", "Next line", "New start"]


def test_punctuation_only_text_has_no_segments_and_no_words():
    assert split_sentences("... !!") == []
    assert split_words(" -- … ") == []


def test_words_keep_contractions_and_drop_edge_punctuation():
    t = "That’s it, isn't it? 'Quoted' e-mail."
    assert [w.text for w in split_words(t)] == ["That’s", "it", "isn't", "it", "Quoted", "e-mail"]
    for w in split_words(t):
        assert t[w.start:w.end] == w.text


def test_word_spans_within_a_sentence_use_original_offsets():
    t = "One. Two three."
    second = split_sentences(t)[1]
    assert [(w.text, w.start) for w in split_words(t, second.start, second.end)] == [("Two", 5), ("three", 9)]


def test_control_tokens_are_removed():
    assert strip_control_tokens("Hello <|endoftext|> world<|im_end|>") == "Hello world"
    assert strip_control_tokens("a <| b") == "a <| b"
