"""Audio formats, resampling and playback clocks (no Qt)."""
