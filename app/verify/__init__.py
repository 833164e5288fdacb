"""Does the audio say what the transcript says? (no Qt)

`verify(transcript, audio, sample_rate, language) -> Report`; the Report mirrors the
JSON contract of `python -m app check` in shared/DESIGN.md.
"""

from app.core.report import Report, SegmentResult, WordResult, describe_segment

__all__ = ["Report", "SegmentResult", "WordResult", "describe_segment"]
