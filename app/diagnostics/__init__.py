"""Logging, crash reporting and the self-check (no Qt at import time)."""
