"""Amber sentences are never repaired on their own; the user can still ask for a repair,
which re-voices them (and red ones) like a flagged sentence."""

import asyncio

import numpy as np

from app.core.report import Report, SegmentResult, WordResult
from app.core.utterance import Utterance
from app.repair.repairer import RepairContext, Repairer, RepairOptions

TEXT = "It works. Now I can hear myself."


class Speech:
    def __init__(self):
        self.spoken = []

    async def speak(self, text, language, voice=None):
        self.spoken.append(text)
        return np.full(2400, 1000, np.int16)


class Listener:
    def on_repair(self, u, message):
        pass

    def on_report(self, u):
        pass


def amber_answer():
    cut = TEXT.index("Now")
    r = Report("match", "en", 2.0, segments=[
        SegmentResult(0, "It works.", 0, 9, "ok", 0.0, 0.8),
        SegmentResult(1, TEXT[cut:], cut, len(TEXT), "misspoken", 0.9, 1.9, confidence="uncertain")],
        words=[WordResult(w, TEXT.index(w), TEXT.index(w) + len(w), "ok") for w in ("It", "works", "Now")])
    r.settle_verdict()
    u = Utterance(input_text="x", source_language="es", target_language="en", transcript=TEXT,
                  state="complete")
    u.audio = np.zeros(48000, np.int16)
    u.report = r
    return u


def context(checked):
    async def check(u, audio):
        checked.append(len(audio))
        r = Report("match", "en", len(audio) / 24000)
        return r
    return RepairContext(client=None, check_audio=check, save=lambda u: None, listener=Listener(),
                         language=lambda u: "en")


def test_an_amber_sentence_is_not_repaired_automatically_but_is_on_request():
    speech = Speech()
    repairer = Repairer(RepairOptions(policy="automatic", attempts=2, order=("patch",)), speech=speech)
    u = amber_answer()
    checked = []
    assert asyncio.run(repairer.repair(u, context(checked))) is False
    assert speech.spoken == [] and checked == []
    assert asyncio.run(repairer.repair(u, context(checked), requested=True)) is True
    assert speech.spoken == ["Now I can hear myself."] and checked
    assert u.meta["repaired_by"] == "patch"


def test_a_requested_repair_of_a_clean_answer_does_nothing():
    speech = Speech()
    u = amber_answer()
    u.report.segments[1].status = "ok"
    assert asyncio.run(Repairer(RepairOptions(policy="off"), speech=speech).repair(
        u, context([]), requested=True)) is False
    assert speech.spoken == []
