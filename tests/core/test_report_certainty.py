"""Certainty tiers in the report: red (certain) decides the verdict and repairs, amber
(uncertain) is shown and kept but leaves the verdict `match` with `uncertain: true`."""

import json

from app.core.report import Report, SegmentResult, WordResult, describe_segment

TEXT = "It works. Now I can hear myself."


def report(second_status="misspoken", confidence="uncertain") -> Report:
    cut = TEXT.index("Now")
    r = Report("match", "en", 2.0, segments=[
        SegmentResult(0, "It works.", 0, 9, "ok", 0.0, 0.8),
        SegmentResult(1, TEXT[cut:], cut, len(TEXT), second_status, 0.9, 1.9, heard="Now I can hear my shelf.",
                      confidence=confidence)],
        words=[WordResult("It", 0, 2, "ok", 0.0, 0.2)])
    r.settle_verdict()
    return r


def test_an_answer_whose_only_flag_is_uncertain_matches_and_says_so():
    r = report()
    assert r.verdict == "match" and r.matches and r.uncertain
    assert r.flagged_segments == [] and [s.index for s in r.doubtful_segments] == [1]
    assert [s.index for s in r.differing_segments] == [1]
    d = r.to_dict()
    assert d["verdict"] == "match" and d["uncertain"] is True
    assert [s["confidence"] for s in d["segments"]] == ["certain", "uncertain"]
    assert "may differ" in describe_segment(r.segments[1], r)


def test_a_certain_flag_is_a_mismatch():
    r = report(confidence="certain")
    assert r.verdict == "mismatch" and not r.uncertain
    assert [s.index for s in r.flagged_segments] == [1] and r.doubtful_segments == []
    assert "may differ" not in describe_segment(r.segments[1], r)
    assert r.to_dict()["uncertain"] is False


def test_the_json_round_trips_and_old_reports_read_as_certain():
    r = report()
    back = Report.from_dict(json.loads(json.dumps(r.to_dict())))
    assert back.to_dict() == r.to_dict()
    old = r.to_dict()
    for seg in old["segments"]:
        del seg["confidence"]
    del old["uncertain"]
    old["verdict"] = "mismatch"
    aged = Report.from_dict(old)
    assert aged.segments[1].flagged and aged.segments[1].confidence == "certain"
    assert not aged.matches
