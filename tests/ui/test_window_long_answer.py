"""Issue 15, item 8: a 2 000-character English read-back through the window must not come back
mostly red (numbers in words, identical sentences repeated, audio far past Whisper's 30 s)."""

import pytest

from tests.helpers import run

SENTENCES = [
    "The train to the airport leaves from platform four at half past nine.",
    "Please keep your ticket until you reach the exit, because the gates check it again.",
    "If you miss it, the next one departs twenty minutes later from the same platform.",
    "Coffee and sandwiches are sold on the upper level, next to the information desk.",
    "Children under twelve travel free when they are with an adult.",
    "The journey takes about forty minutes, and there are three stops on the way.",
    "Announcements are made in English and in Spanish before each stop.",
    "Luggage can be stored in the racks at either end of every carriage.",
    "Please do not leave bags unattended anywhere in the station.",
    "Bicycles are allowed outside the morning rush hour.",
    "Quiet carriages are marked with a blue sign on the door.",
    "Wireless internet is free, but it can be slow in the tunnels.",
    "Tickets bought on the train cost two euros more than those from the machines.",
    "The last train back to the city leaves at eleven fifteen in the evening.",
    "Thank you for travelling with us, and have a pleasant trip.",
    "We hope to see you again soon.",
]
LONG_TEXT = " ".join(SENTENCES * 2)     # ~2 100 characters, every sentence twice


@pytest.mark.slow
@pytest.mark.parametrize("source", ["auto", "en"])
def test_a_long_english_read_back_verifies_clean_through_the_window(make_window, loop, source):
    assert 2000 <= len(LONG_TEXT) <= 4000
    w = make_window(repair_policy="off")
    w.source.set_code(source)
    w.target.set_code("fr")

    async def flow():
        return await w.translate_now(LONG_TEXT, source, "fr")

    u = run(loop, flow(), timeout=400)
    assert u.report is not None and u.meta.get("read_back")
    statuses = [s.status for s in u.report.segments]
    assert len(statuses) == 2 * len(SENTENCES)
    flagged = [(s.index, s.status, s.text, s.heard) for s in u.report.segments if s.status != "ok"]
    # Piper's voice is not reproducible (VITS noise): now and then Whisper base mishears one word
    # of 32 sentences ("train" -> "drink"). Far from "mostly red", and never systematic: no
    # sentence is flagged in both of its copies (a real fault in the pipeline would be).
    assert len(flagged) <= 2, flagged
    half = len(SENTENCES)
    assert not [i for i in range(half) if statuses[i] != "ok" and statuses[i + half] != "ok"], flagged
    assert w.badge.property("status") == ("match" if not flagged else "mismatch")
    assert w.title.text() == "<b>Read back (not translated)</b>"


@pytest.mark.slow
@pytest.mark.xfail(strict=False, reason="app/verify: with the robotic eSpeak voice, Whisper mishears a few "
                   "sentences of a long read-back ('Tendu, tendu' for 'bags unattended' is then called "
                   "drifted to French) and identical sentences get different verdicts; see the report")
def test_a_long_english_read_back_in_the_espeak_voice_verifies_clean(make_window, loop):
    w = make_window(repair_policy="off", voice="verse")     # "verse" maps to eSpeak NG on the local engine

    async def flow():
        return await w.translate_now(LONG_TEXT, "en", "fr")

    u = run(loop, flow(), timeout=400)
    flagged = [(s.index, s.status, s.heard_language, s.heard) for s in u.report.segments if s.status != "ok"]
    assert not flagged, flagged
