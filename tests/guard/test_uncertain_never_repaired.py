"""Guard never replaces or appends audio for a sentence that only may differ (amber)."""

from app.core.report import Report, SegmentResult, WordResult
from app.guard.mend import missing_tail
from app.guard.stream import plan_steps

TEXT = "It works now. Now I can hear myself. That is all."


def report(second="misspoken", confidence="uncertain", third_missing=False):
    segs, words = [], []
    times = {"It": 0.0, "works": 0.2, "now.": 0.5, "Now": 1.2, "I": 1.4, "can": 1.5, "hear": 1.7,
             "myself.": 1.9, "That": 2.6, "is": 2.8, "all.": 3.0}
    pos = 0
    for token, t in times.items():
        at = TEXT.index(token, pos)
        pos = at + len(token)
        word = token.rstrip(".")
        missing = third_missing and at >= TEXT.index("That")
        words.append(WordResult(word, at, at + len(word), "missing" if missing else "ok",
                                None if missing else t, None if missing else t + 0.15))
    bounds = [(0, TEXT.index(" Now")), (TEXT.index("Now"), TEXT.index(" That")), (TEXT.index("That"), len(TEXT))]
    statuses = ["ok", second, "truncated" if third_missing else "ok"]
    for i, ((a, b), st) in enumerate(zip(bounds, statuses, strict=True)):
        spoken = [w for w in words if a <= w.char_start < b and w.start_s is not None]
        seg = SegmentResult(i, TEXT[a:b], a, b, st, spoken[0].start_s if spoken else None,
                            spoken[-1].end_s if spoken else None)
        if i == 1 or (i == 2 and third_missing):
            seg.confidence = confidence
        segs.append(seg)
    r = Report("match", "en", 3.3, segments=segs, words=words)
    r.settle_verdict()
    return r


def test_an_amber_sentence_is_kept_as_spoken_and_a_red_one_is_revoiced():
    steps, _ = plan_steps(report(confidence="uncertain"), TEXT, 0, 24000, suspects=set(), confirm=False)
    assert [s.kind for s in steps] == ["keep", "keep"]
    steps, _ = plan_steps(report(confidence="certain"), TEXT, 0, 24000, suspects=set(), confirm=False)
    assert [s.kind for s in steps] == ["keep", "revoice"]


def test_a_missing_tail_is_appended_only_when_certain():
    amber = report(second="ok", third_missing=True, confidence="uncertain")
    assert missing_tail(amber, TEXT) is None
    red = report(second="ok", third_missing=True, confidence="certain")
    fix = missing_tail(red, TEXT)
    assert fix is not None and fix.text == "That is all."
