"""Plain data shared by every part: languages, the Utterance record (no Qt)."""
