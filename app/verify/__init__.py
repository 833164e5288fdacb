"""Does the audio say what the transcript says? (no Qt)

`verify(transcript, audio, sample_rate, language) -> Report`; the Report (app/core/report.py)
is what `python -m app check` prints as JSON. docs/verifier.md describes the decision.
"""

from app.core.report import Report, SegmentResult, WordResult, describe_segment

__all__ = ["Report", "SegmentResult", "WordResult", "describe_segment"]
