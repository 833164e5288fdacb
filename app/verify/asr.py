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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
FRAMES_PER_S = 100          # mel frames
MAX_FRAMES = 3000           # Whisper's 30 s window
PAD_FRAMES = 60             # silent mel tail after the audio (helps the last word end)
MAX_FORCED_TOKENS = 440      # decoder context (448) less the prompt
MIN_FRAMES = 1000           # shorter windows make Whisper repeat itself; 10 s is cheap and safe
# One intra-op thread: greedy decoding steps are too small to split, and on 2 cores a
# second thread made them 2.3x slower (0.21 s vs 0.09 s for a 6 s answer) while the
# encoder of a 10 s window gained only 0.03 s (bench/README, "Latest: one recognizer thread, …").
THREADS = 1
_PUNCT = "\"'“¿([{-.。,，!！?？:：”)]}、"


@dataclass(slots=True)
class AsrWord:
    text: str       # as Whisper wrote it (with leading space stripped)
    start: float
    end: float
    probability: float


@dataclass(slots=True)
class ForcedWord:
    """How likely Whisper finds one expected word, given the audio and the words before it."""
    prob: float         # joint probability of the word's letter tokens
    first: float        # probability of its first token (the least predictable one)
    start: float
    end: float


@dataclass(slots=True)
class AsrResult:
    words: list[AsrWord]
    text: str
    language: str
    avg_logprob: float = 0.0


class WhisperAsr:
    """One loaded Whisper model with two CTranslate2 workers sharing its weights: free
    decoding can run on one (`decode_ahead`) while the caller scores the transcript on the
    other. CTranslate2 queues concurrent calls itself; the Verifier keeps verifications in turn."""

    def __init__(self, model_dir: str | Path, threads: int = THREADS) -> None:
        from faster_whisper import WhisperModel

        self.model = WhisperModel(str(model_dir), device="cpu", compute_type="int8",
                                  cpu_threads=max(1, int(threads)), num_workers=2,
                                  local_files_only=True)
        self.fe = self.model.feature_extractor
        self.model.hf_tokenizer = _repaired_tokenizer(self.model.hf_tokenizer)
        self._ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="verbatim-asr")
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

    def encode(self, audio: np.ndarray, min_frames: int | None = None):
        """16 kHz float audio (≤ 30 s) -> (encoder output, number of mel frames of audio)."""
        import ctranslate2

        audio = np.asarray(audio, dtype=np.float32)
        feats = self.fe(audio, padding=160)
        n = min(int(feats.shape[1]), MAX_FRAMES)
        width = min(MAX_FRAMES, max(MIN_FRAMES if min_frames is None else min_frames, n + PAD_FRAMES))
        width += width % 2
        x = np.zeros((1, feats.shape[0], width), dtype=np.float32)
        x[0, :, :n] = feats[:, :n]
        enc = self.model.model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(x)))
        return enc, n

    def detect_language(self, enc) -> list[tuple[str, float]]:
        results = self.model.model.detect_language(enc)[0]
        return [(tok[2:-2], float(p)) for tok, p in results]

    def decode_ahead(self, enc, n_frames: int, language: str, *, offset: float = 0.0) -> Ahead:
        """Start `decode` on the second worker; the caller may `cancel` it when the transcript
        turns out plainly said (most answers). CTranslate2's Whisper takes no per-token
        callback, so a cancelled decoding still finishes its greedy pass (~0.1 s of the other
        core) but skips the retry and word timing."""
        self.tokenizer(language)    # made here: the worker thread only reads the cache
        stop = threading.Event()
        return Ahead(self._ahead.submit(self.decode, enc, n_frames, language, offset=offset, stop=stop), stop)

    def decode(self, enc, n_frames: int, language: str, *, offset: float = 0.0,
               word_times: bool = True, stop: threading.Event | None = None) -> AsrResult:
        from faster_whisper.transcribe import get_suppressed_tokens

        tok = self.tokenizer(language)
        prompt = list(tok.sot_sequence) + [tok.no_timestamps]
        duration = n_frames / FRAMES_PER_S
        max_new = int(min(440 - len(prompt), 16 + duration * 12))
        suppress = get_suppressed_tokens(tok, [-1])
        tokens, avg = self._generate(enc, prompt, max_new, suppress, tok.eot, no_repeat=0)
        if stop is not None and stop.is_set():
            return AsrResult([], "", language)
        text = tok.decode(tokens).strip()
        if text and _compression_ratio(text) > 2.4:
            tokens, avg = self._generate(enc, prompt, max_new, suppress, tok.eot, no_repeat=3)
            text = tok.decode(tokens).strip()
        words: list[AsrWord] = []
        if tokens and word_times:
            alignment = self.model.find_alignment(tok, [tokens], enc, n_frames)[0]
            words = _merge_words(alignment, offset, duration)
        elif tokens:
            words = [AsrWord(w, offset, offset + duration, 1.0) for w in text.split()]
        return AsrResult(words, text, language, avg)

    def _generate(self, enc, prompt, max_new, suppress, eot, no_repeat: int):
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
        arr = np.asarray(enc)
        batch = ctranslate2.StorageView.from_array(
            np.ascontiguousarray(np.repeat(arr, len(languages), axis=0)))
        results = self.model.model.generate(batch, prompts, beam_size=1,
                                            max_length=len(prompts[0]) + max_new,
                                            return_scores=True, suppress_blank=True,
                                            suppress_tokens=list(suppress),
                                            no_repeat_ngram_size=3)
        out = {}
        for lang, r in zip(languages, results, strict=False):
            tokens = [t for t in r.sequences_ids[0] if t < tok0.eot]
            text = _collapse_repeats(tok0.decode(tokens).strip())
            out[lang] = (float(r.scores[0]) if r.scores and text else -9.0, text)
        return out

    def force(self, enc, n_frames: int, language: str, words: list[str], *,
              offset: float = 0.0) -> list[ForcedWord]:
        """Score the expected words against the audio (teacher-forced, one decoder pass).

        The probability of each transcript token given the audio and the transcript so far:
        where the audio says the words, they come in runs of 0.9+; where it does not (cut
        short, another language), in runs near zero.
        """
        return self.force_many(enc, n_frames, language, [words], offset=offset)[0]

    def force_many(self, enc, n_frames: int, language: str, texts: list[list[str]], *,
                   offset: float = 0.0) -> list[list[ForcedWord]]:
        """`force` for several word lists against the same audio, in one batched pass."""
        tok = self.tokenizer(language)
        batch = [_forced_tokens(tok, words) for words in texts]
        live = [k for k, (tokens, _o, _l) in enumerate(batch) if tokens]
        results: dict[int, object] = {}
        if live:
            import ctranslate2

            feats = enc
            if len(live) > 1:
                feats = ctranslate2.StorageView.from_array(
                    np.ascontiguousarray(np.repeat(np.asarray(enc), len(live), axis=0)))
            res = self.model.model.align(feats, list(tok.sot_sequence) + [tok.no_timestamps],
                                         [batch[k][0] for k in live], [n_frames] * len(live),
                                         median_filter_width=7)
            results = dict(zip(live, res, strict=True))
        duration = n_frames / FRAMES_PER_S
        return [_forced_words(results.get(k), batch[k], len(words), duration, offset)
                for k, words in enumerate(texts)]

    # --- conveniences ------------------------------------------------------------------------
    def transcribe(self, audio: np.ndarray, language: str | None, *, offset: float = 0.0,
                   word_times: bool = True) -> AsrResult:
        """Transcribe ≤ 30 s; language None = detect it first."""
        enc, n = self.encode(audio)
        if language is None:
            language = self.detect_language(enc)[0][0]
        return self.decode(enc, n, language, offset=offset, word_times=word_times)


@dataclass(slots=True)
class Ahead:
    """Free decoding under way on the second worker."""
    future: Future
    stop: threading.Event

    def result(self) -> AsrResult:
        return self.future.result()

    def cancel(self) -> None:
        self.stop.set()


def _forced_tokens(tok, words: list[str]) -> tuple[list[int], list[int], list[bool]]:
    """The words' tokens as Whisper would write them, which word owns each, and which carry
    letters (punctuation does not count towards a word's probability)."""
    tokens: list[int] = []
    owner: list[int] = []
    lettered: list[bool] = []
    for i, w in enumerate(words):
        for t in tok.encode(" " + w.strip()):
            tokens.append(t)
            owner.append(i)
            lettered.append(any(c.isalnum() for c in tok.decode([t])))
    n = min(len(tokens), MAX_FORCED_TOKENS)
    return tokens[:n], owner[:n], lettered[:n]


def _forced_words(res, batch_item, n_words: int, duration: float, offset: float) -> list[ForcedWord]:
    """Per-word probability and time from one alignment result."""
    tokens, owner, lettered = batch_item
    if res is None:
        return [ForcedWord(0.0, 0.0, offset + duration, offset + duration) for _ in range(n_words)]
    probs = np.asarray(res.text_token_probs[: len(tokens)], dtype=np.float64)
    # first frame each text token is aligned to (dynamic time warping path)
    first_t = np.full(len(tokens) + 1, np.nan)
    for ti, fi in res.alignments:
        if 0 <= ti <= len(tokens) and np.isnan(first_t[ti]):
            first_t[ti] = fi / 50.0
    out: list[ForcedWord] = []
    for i in range(n_words):
        idx = [k for k in range(len(tokens)) if owner[k] == i]
        if not idx:
            out.append(ForcedWord(0.0, 0.0, offset + duration, offset + duration))
            continue
        lp = [probs[k] for k in idx if lettered[k]] or [probs[k] for k in idx]
        a = first_t[idx[0]]
        b = first_t[idx[-1] + 1] if idx[-1] + 1 < len(first_t) else np.nan
        a = duration if np.isnan(a) else min(float(a), duration)
        b = a if np.isnan(b) else min(max(float(b), a), duration)
        first = next((probs[k] for k in idx if lettered[k]), probs[idx[0]])
        # the word's joint probability: its later pieces are all but certain given the first
        out.append(ForcedWord(float(np.prod(lp)), float(first), offset + a, offset + b))
    return out


def _repaired_tokenizer(hf):
    """Put back GPT-2's first BPE merge ("Ġ t") when a converted model lost it.

    Whisper base as packaged has 49 999 merges starting at "Ġ a": a header-skipping
    converter dropped rank 0, so every word starting with "t" after a space is encoded
    as "Ġ" + "t…" (" the" -> [220, 3322], never what Whisper writes) and scoring the
    transcript against the audio puts near-zero probability on every "the" and "to".
    """
    import json

    import tokenizers

    try:
        spec = json.loads(hf.to_str())
        merges = spec["model"]["merges"]
    except (KeyError, TypeError, ValueError):
        return hf
    first = merges[0] if merges else None
    if first is None or first in ("Ġ t", ["Ġ", "t"]) or "Ġt" not in spec["model"].get("vocab", {}):
        return hf
    if any(m in ("Ġ t", ["Ġ", "t"]) for m in merges[:1000]):
        return hf
    merges.insert(0, "Ġ t" if isinstance(first, str) else ["Ġ", "t"])
    return tokenizers.Tokenizer.from_str(json.dumps(spec))


def _collapse_repeats(text: str) -> str:
    """"Of course. Of course! Of course..." -> "Of course." (short windows make Whisper loop)."""
    import re

    parts = [p for p in re.split(r"(?<=[.!?…])\s+", text) if p.strip()]
    out: list[str] = []
    for p in parts:
        key = re.sub(r"\W+", " ", p).strip().lower()
        if out and key == re.sub(r"\W+", " ", out[-1]).strip().lower():
            continue
        out.append(p)
    return " ".join(out)


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
