"""Languages Verbatim offers, with the names and voices each part needs.

Whisper and fastText both know many more; this table is what the pickers show and what
the local engine can voice with espeak-ng.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Language:
    code: str        # ISO 639-1, the code used everywhere in Verbatim (and Whisper)
    name: str        # English name, used in messages ("spoken in Spanish")
    native: str      # shown in pickers next to the English name
    espeak: str      # espeak-ng voice


LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in [
        Language("en", "English", "English", "en-us"),
        Language("es", "Spanish", "Español", "es"),
        Language("fr", "French", "Français", "fr"),
        Language("de", "German", "Deutsch", "de"),
        Language("it", "Italian", "Italiano", "it"),
        Language("pt", "Portuguese", "Português", "pt-br"),
        Language("nl", "Dutch", "Nederlands", "nl"),
        Language("pl", "Polish", "Polski", "pl"),
        Language("sv", "Swedish", "Svenska", "sv"),
        Language("da", "Danish", "Dansk", "da"),
        Language("fi", "Finnish", "Suomi", "fi"),
        Language("ro", "Romanian", "Română", "ro"),
        Language("cs", "Czech", "Čeština", "cs"),
        Language("tr", "Turkish", "Türkçe", "tr"),
        Language("ru", "Russian", "Русский", "ru"),
        Language("uk", "Ukrainian", "Українська", "uk"),
        Language("el", "Greek", "Ελληνικά", "el"),
        Language("ca", "Catalan", "Català", "ca"),
        Language("ja", "Japanese", "日本語", "ja"),
        Language("zh", "Chinese", "中文", "cmn"),
        Language("ko", "Korean", "한국어", "ko"),
        Language("ar", "Arabic", "العربية", "ar"),
        Language("he", "Hebrew", "עברית", "he"),
        Language("hi", "Hindi", "हिन्दी", "hi"),
    ]
}


class UnknownLanguage(ValueError):
    pass


def get_language(code: str) -> Language:
    """Look up a language by ISO code (case-insensitive, 'en-US' style accepted)."""
    key = (code or "").strip().lower().replace("_", "-").split("-")[0]
    try:
        return LANGUAGES[key]
    except KeyError:
        known = ", ".join(sorted(LANGUAGES))
        raise UnknownLanguage(f"unknown language {code!r}; known: {known}") from None


def language_name(code: str | None) -> str:
    if not code:
        return "an unknown language"
    try:
        return get_language(code).name
    except UnknownLanguage:
        return code
