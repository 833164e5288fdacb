"""Reading the typed phrase aloud in its own language with the offline voices.

A part of MainWindow (app/ui/main_window.py); it reads and sets the window's attributes.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)


class PhraseVoice:
    # --- listening to the phrase itself (offline voice) -----------------------------------
    def listen_to_phrase(self) -> None:
        """Read the phrase aloud in its own language with the offline voices (Ctrl+Shift+S)."""
        text = self.phrase.toPlainText().strip()
        if not text:
            self.show_status("Type a phrase to listen to first.", 4000)
            return
        language = self.source.code()
        if language == "auto":
            from app.core.langid import detect_text_language

            language = detect_text_language(text, default="en") or "en"
        self.stop_phrase()
        self._listen_task = asyncio.ensure_future(self._speak_phrase(text, language))

    async def _speak_phrase(self, text: str, language: str) -> None:
        try:
            pcm = await self.services.phrase_speech().speak(text, language)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("reading the phrase aloud failed", exc_info=True)
            self.show_status(f"Could not read the phrase aloud: {exc}", 8000)
            return
        if self.phrase_player is None:
            self.phrase_player = self.services.make_player()
        if self.player.is_active:
            self.player.pause()        # one voice at a time
        self.phrase_player.load(pcm, 24000)
        self.phrase_player.play()

    def stop_phrase(self) -> bool:
        """Stop reading the phrase aloud; True when something was stopped."""
        stopped = False
        if self._listen_task is not None and not self._listen_task.done():
            self._listen_task.cancel()
            stopped = True
        if self.phrase_player is not None and self.phrase_player.is_active:
            self.phrase_player.stop()
            stopped = True
        return stopped
