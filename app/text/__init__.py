"""Splitting transcripts into sentences and words with character offsets (no Qt)."""

from app.text.segments import Span, split_sentences, split_words, strip_control_tokens

__all__ = ["Span", "split_sentences", "split_words", "strip_control_tokens"]
