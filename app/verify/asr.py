"""Whisper (faster-whisper / CTranslate2) driven directly on trimmed windows (no Qt).

`WhisperModel.transcribe` pads every input to 30 s, so a 7 s utterance pays for 30 s of
encoder work. The CTranslate2 model accepts shorter mel windows, so this module
encodes only the audio (plus a short silent tail), decodes greedily without timestamps
or previous-text conditioning, and times words with Whisper's cross-attention
alignment (the same `align` call faster-whisper uses for `word_timestamps=True`).
"""

from __future__ import annotations

import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
FRAMES_PER_S = 100          # mel frames
MAX_FRAMES = 3000           # Whisper's 30 s window
PAD_FRAMES = 60             # silent mel tail after the audio (helps the last word end)
MIN_FRAMES = 1000           # shorter windows make Whisper repeat itself; 10 s is cheap and safe
_PUNCT = "\"'“¿([{-.。,，!！?？:：”)]}、"


@dataclass(slots=True)
class AsrWord:
    text: str       # as Whisper wrote it (with leading space stripped)
    start: float
    end: float
    probability: float


@dataclass(slots=True)
class AsrResult:
    words: list[AsrWord]
    text: str
    language: str
    avg_logprob: float = 0.0


class WhisperAsr:
    """One loaded Whisper model; every call holds a lock (CTranslate2 is used from one thread)."""

    def __init__(self, model_dir: str | Path, threads: int = 2) -> None:
        from faster_whisper import WhisperModel

        self.model = WhisperModel(str(model_dir), device="cpu", compute_type="int8",
                                  cpu_threads=max(1, int(threads)), num_workers=1,
                                  local_files_only=True)
        self.fe = self.model.feature_extractor
        self.lock = threading.RLock()
        self._tokenizers: dict[str | None, object] = {}
        self.languages = set(self.model.supported_languages)

    # --- pieces ------------------------------------------------------------------------------
    def tokenizer(self, language: str | None):
        from faster_whisper.tokenizer import Tokenizer

        tok = self._tokenizers.get(language)
        if tok is None:
            tok = Tokenizer(self.model.hf_tokenizer, self.model.model.is_multilingual,
                            task="transcribe", language=language)
            self._tokenizers[language] = tok
        return tok

    def encode(self, audio: np.ndarray):
        """16 kHz float audio (≤ 30 s) -> (encoder output, number of mel frames of audio)."""
        import ctranslate2

        audio = np.asarray(audio, dtype=np.float32)
        feats = self.fe(audio, padding=160)
        n = min(int(feats.shape[1]), MAX_FRAMES)
        width = min(MAX_FRAMES, max(MIN_FRAMES, n + PAD_FRAMES))
        width += width % 2
        x = np.zeros((1, feats.shape[0], width), dtype=np.float32)
        x[0, :, :n] = feats[:, :n]
        with self.lock:
            enc = self.model.model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(x)))
        return enc, n

    def detect_language(self, enc) -> list[tuple[str, float]]:
        with self.lock:
            results = self.model.model.detect_language(enc)[0]
        return [(tok[2:-2], float(p)) for tok, p in results]

    def decode(self, enc, n_frames: int, language: str, *, offset: float = 0.0,
               word_times: bool = True) -> AsrResult:
        from faster_whisper.transcribe import get_suppressed_tokens

        tok = self.tokenizer(language)
        prompt = list(tok.sot_sequence) + [tok.no_timestamps]
        duration = n_frames / FRAMES_PER_S
        max_new = int(min(440 - len(prompt), 16 + duration * 12))
        suppress = get_suppressed_tokens(tok, [-1])
        tokens, avg = self._generate(enc, prompt, max_new, suppress, tok.eot, no_repeat=0)
        text = tok.decode(tokens).strip()
        if text and _compression_ratio(text) > 2.4:
            tokens, avg = self._generate(enc, prompt, max_new, suppress, tok.eot, no_repeat=3)
            text = tok.decode(tokens).strip()
        words: list[AsrWord] = []
        if tokens and word_times:
            with self.lock:
                alignment = self.model.find_alignment(tok, [tokens], enc, n_frames)[0]
            words = _merge_words(alignment, offset, duration)
        elif tokens:
            words = [AsrWord(w, offset, offset + duration, 1.0) for w in text.split()]
        return AsrResult(words, text, language, avg)

    def _generate(self, enc, prompt, max_new, suppress, eot, no_repeat: int):
        with self.lock:
            r = self.model.model.generate(enc, [prompt], beam_size=1, max_length=len(prompt) + max_new,
                                          return_scores=True, suppress_blank=True,
                                          suppress_tokens=list(suppress),
                                          no_repeat_ngram_size=no_repeat)[0]
        tokens = [t for t in r.sequences_ids[0] if t < eot]
        score = float(r.scores[0]) if r.scores else 0.0
        return tokens, score

    def decode_many(self, enc, n_frames: int, languages: list[str]) -> dict[str, tuple[float, str]]:
        """Greedy decode of one encoder output in several languages at once (batched).

        Returns {language: (average token log-probability, text)}.
        """
        import ctranslate2

        from faster_whisper.transcribe import get_suppressed_tokens

        if not languages:
            return {}
        prompts = []
        for lang in languages:
            tok = self.tokenizer(lang)
            prompts.append(list(tok.sot_sequence) + [tok.no_timestamps])
        duration = n_frames / FRAMES_PER_S
        max_new = int(min(400, 12 + duration * 10))
        tok0 = self.tokenizer(languages[0])
        suppress = get_suppressed_tokens(tok0, [-1])
        with self.lock:
            arr = np.asarray(enc)
            batch = ctranslate2.StorageView.from_array(
                np.ascontiguousarray(np.repeat(arr, len(languages), axis=0)))
            results = self.model.model.generate(batch, prompts, beam_size=1,
                                                max_length=len(prompts[0]) + max_new,
                                                return_scores=True, suppress_blank=True,
                                                suppress_tokens=list(suppress),
                                                no_repeat_ngram_size=3)
        out = {}
        for lang, r in zip(languages, results):
            tokens = [t for t in r.sequences_ids[0] if t < tok0.eot]
            text = tok0.decode(tokens).strip()
            out[lang] = (float(r.scores[0]) if r.scores and text else -9.0, text)
        return out

    # --- conveniences ------------------------------------------------------------------------
    def transcribe(self, audio: np.ndarray, language: str | None, *, offset: float = 0.0,
                   word_times: bool = True) -> AsrResult:
        """Transcribe ≤ 30 s; language None = detect it first."""
        enc, n = self.encode(audio)
        if language is None:
            language = self.detect_language(enc)[0][0]
        return self.decode(enc, n, language, offset=offset, word_times=word_times)


def _compression_ratio(text: str) -> float:
    b = text.encode("utf-8")
    return len(b) / max(1, len(zlib.compress(b)))


def _merge_words(alignment: list[dict], offset: float, duration: float) -> list[AsrWord]:
    """Whisper word alignment -> words with punctuation glued to their neighbour."""
    out: list[AsrWord] = []
    pending_prefix = ""
    for item in alignment:
        raw = item["word"]
        w = raw.strip()
        if not w:
            continue
        start = float(item["start"]) + offset
        end = float(item["end"]) + offset
        start, end = min(start, offset + duration), min(end, offset + duration)
        if all(c in _PUNCT for c in w):
            if out and not raw.startswith(" "):
                out[-1].text += w
            else:
                pending_prefix += w
            continue
        if out and not raw.startswith(" "):
            # a continuation without a space (e.g. "e" + "-mail") belongs to the previous word
            prev = out[-1]
            prev.text += w
            prev.end = max(prev.end, end)
            prev.probability = min(prev.probability, float(item["probability"]))
            continue
        out.append(AsrWord(pending_prefix + w, start, max(start, end), float(item["probability"])))
        pending_prefix = ""
    return out
