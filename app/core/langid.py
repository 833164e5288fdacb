"""Text language identification over the languages Verbatim knows (lingua, offline)."""

from __future__ import annotations

import logging
import threading

from app.core.languages import LANGUAGES

log = logging.getLogger(__name__)
_lock = threading.Lock()


_detector_cache: list = []


def detector():
    """The one lingua detector of the process (engine and verifier share it), or None
    when lingua is missing or broken."""
    with _lock:
        if not _detector_cache:
            try:
                from lingua import IsoCode639_1, LanguageDetectorBuilder

                codes = []
                for code in LANGUAGES:
                    iso = getattr(IsoCode639_1, code.split("-")[0].upper(), None)
                    if iso is not None and iso not in codes:
                        codes.append(iso)
                # low accuracy mode: ~0.3 s to load instead of ~4 s; the prior below fixes short phrases
                _detector_cache.append(LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
                                       .with_low_accuracy_mode().build())
            except Exception:
                log.exception("lingua unavailable; text language identification is off")
                _detector_cache.append(None)
        return _detector_cache[0]


def confidences(text: str) -> list[tuple[str, float]]:
    """(ISO 639-1 code, confidence) pairs, most likely first; [] when it cannot tell."""
    det = detector()
    if det is None or not text or not text.strip():
        return []
    try:
        values = det.compute_language_confidence_values(text)
    except Exception:
        return []
    return [(v.language.iso_code_639_1.name.lower(), float(v.value)) for v in values]


# Short phrases are ambiguous between related languages; the common ones get the benefit
# of the doubt ("Où est la gare ?" is French, not Romanian).
PRIOR = {"en": 1.6, "es": 1.5, "fr": 1.5, "de": 1.5, "it": 1.4, "pt": 1.4}


def detect_text_language(text: str, default: str | None = None) -> str | None:
    """ISO 639-1 code of `text`, or `default` when it cannot tell."""
    best, score = default, 0.0
    for code, value in confidences(text):
        s = value * PRIOR.get(code, 1.0)
        if s > score:
            best, score = code, s
    return best if score > 0 else default
