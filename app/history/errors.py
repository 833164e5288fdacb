"""The one error the history raises (no Qt)."""


class HistoryError(RuntimeError):
    """A history operation failed; the message is for the user."""
