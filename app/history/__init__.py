"""History of utterances (no Qt): SQLite + audio files, search, export."""

from .store import HistoryError, HistoryRow, HistoryStore, default_dir

__all__ = ["HistoryError", "HistoryRow", "HistoryStore", "default_dir"]
