"""Verbatim: a translator that makes sure the audio says what the transcript says."""

__version__ = "0.1.0"
APP_ID = "io.github.verbatim.Verbatim"  # reverse-DNS id used for .desktop, icon, settings
APP_NAME = "Verbatim"
