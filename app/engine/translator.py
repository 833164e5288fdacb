"""Offline translation for the local engine, when Argos Translate and a language pair are
installed (`pip install .[translate]` and its packages). Without one the engine reads the
text back and says so — it never pretends to translate."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class Translator:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._argos = None
        try:
            import argostranslate.translate as argos  # optional dependency

            self._argos = argos
        except Exception:  # not installed, or broken: reading back is the honest fallback
            self._argos = None

    @property
    def name(self) -> str:
        return "argos-translate" if self._argos is not None else "none"

    def pairs(self) -> set[tuple[str, str]]:
        if self._argos is None:
            return set()
        out = set()
        try:
            langs = self._argos.get_installed_languages()
        except Exception:
            log.exception("argos languages unavailable")
            return set()
        for a in langs:
            for b in langs:
                if a.code != b.code and a.get_translation(b) is not None:
                    out.add((a.code, b.code))
        return out

    @property
    def available(self) -> bool:
        return bool(self.pairs())

    def can(self, source: str, target: str) -> bool:
        return (source, target) in self.pairs()

    def translate(self, text: str, source: str, target: str) -> str:
        if not self.can(source, target):
            raise LookupError(f"no offline translator for {source}→{target}")
        with self._lock:
            return self._argos.translate(text, source, target)
