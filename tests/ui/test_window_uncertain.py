"""An answer whose only flag is uncertain: amber, 'may differ' in the badge and the flags
list, never repaired on its own, and a Repair audio button that re-voices it on request."""

import asyncio

import numpy as np
from PySide6.QtGui import QTextCursor

from app.core.report import Report, SegmentResult, WordResult
from app.core.utterance import Utterance
from app.ui import theme
from tests.helpers import run

TEXT = "It works. Now I can hear myself."


def amber_utterance(confidence="uncertain"):
    cut = TEXT.index("Now")
    words = [WordResult(w, TEXT.index(w), TEXT.index(w) + len(w), "ok" if TEXT.index(w) < cut else "misspoken",
                        0.1, 0.3) for w in ("It", "works", "Now", "can", "hear", "myself")]
    r = Report("match", "en", 2.0, segments=[
        SegmentResult(0, "It works.", 0, 9, "ok", 0.0, 0.8),
        SegmentResult(1, TEXT[cut:], cut, len(TEXT), "misspoken", 0.9, 1.9, heard="now I can hear my shelf",
                      confidence=confidence)], words=words)
    r.settle_verdict()
    u = Utterance(input_text="Funciona.", source_language="es", target_language="en", transcript=TEXT,
                  state="complete")
    u.audio = np.zeros(48000, np.int16)
    u.report = r
    return u


def colours_at(view, offset):
    cur = QTextCursor(view.document())
    cur.setPosition(offset + 1)
    fmt = cur.charFormat()
    return fmt.foreground().color().name(), fmt.background().color().name()


def test_an_uncertain_sentence_is_amber_and_the_answer_still_matches(make_window):
    w = make_window()
    u = amber_utterance()
    w.show_utterance(u)
    assert "may differ" in w.badge.text() and "matches" in w.badge.text().lower()
    fg, bg = colours_at(w.transcript, TEXT.index("hear"))
    assert (fg, bg) == (theme.colors().doubt_text, theme.colors().doubt_background)
    fg, _bg = colours_at(w.transcript, TEXT.index("works"))
    assert fg != theme.colors().flag_text
    assert w.flags.count() == 1 and w.flags.item(0).text().startswith("?")
    assert "may differ" in w.flags.item(0).text()
    assert "amber" in w.legend.text()
    assert w.result.repair_button.isVisibleTo(w)


def test_a_certain_flag_is_red_with_no_amber_legend(make_window):
    w = make_window()
    u = amber_utterance("certain")
    w.show_utterance(u)
    assert w.badge.text().startswith("✗") and "may differ" not in w.badge.text()
    fg, bg = colours_at(w.transcript, TEXT.index("hear"))
    assert (fg, bg) == (theme.colors().flag_text, theme.colors().flag_background)
    assert "amber" not in w.legend.text()


def test_a_clean_answer_offers_no_repair(make_window):
    w = make_window()
    u = amber_utterance()
    u.report.segments[1].status = "ok"
    w.show_utterance(u)
    assert not w.result.repair_button.isVisibleTo(w)


class FakePipeline:
    """Stands in for the pipeline: records the request, re-voices by marking the answer clean."""

    def __init__(self):
        self.asked = []

    async def repair_requested(self, u):
        self.asked.append(u)
        await asyncio.sleep(0.01)
        u.report.segments[1].status = "ok"
        u.report.settle_verdict()
        u.meta["repaired_by"] = "patch"
        u.original_audio = u.audio.copy()
        return True


def test_repair_audio_re_voices_an_amber_answer_on_request(make_window, loop):
    w = make_window()
    u = amber_utterance()
    w.show_utterance(u)
    w.pipeline = fake = FakePipeline()
    assert run(loop, w.repair_now(u), 10) is True
    assert fake.asked == [u] and w.request.trail[-2:] == ["repairing", "done"]
    assert not u.report.uncertain and w.flags.count() == 0
    assert not w.result.repair_button.isVisibleTo(w)
