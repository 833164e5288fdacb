"""Text normalisation and word similarity for comparing what was written with what was heard.

Both sides become lists of *tokens*: lower-case, accent-free, punctuation-free words,
with the symbols people read aloud spelled out in the transcript's language
("@" -> "at" / "arroba", "." inside an e-mail or web address -> "dot" / "punto").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from app.text.addresses import ADDRESS_RE

_AT = {"en": ["at"], "es": ["arroba"], "fr": ["arobase"], "de": ["at"], "it": ["chiocciola"],
       "pt": ["arroba"], "nl": ["apenstaartje"], "ca": ["arrova"]}
_DOT = {"en": "dot", "es": "punto", "fr": "point", "de": "punkt", "it": "punto", "pt": "ponto",
        "nl": "punt", "ca": "punt", "pl": "kropka", "sv": "punkt", "da": "punktum", "ro": "punct"}
_AND = {"en": "and", "es": "y", "fr": "et", "de": "und", "it": "e", "pt": "e", "nl": "en",
        "ca": "i", "pl": "i", "sv": "och", "da": "og", "ro": "si"}
_PERCENT = {"en": ["percent"], "es": ["por", "ciento"], "fr": ["pour", "cent"], "de": ["prozent"],
            "it": ["per", "cento"], "pt": ["por", "cento"], "nl": ["procent"]}
_PLUS = {"en": "plus", "es": "mas", "fr": "plus", "de": "plus", "it": "piu", "pt": "mais"}
_HASH = {"en": "hash"}

# Small number words -> digits, so "three" heard matches "3" written (and vice versa).
_NUMBERS: dict[str, str] = {}
for _lang_words in [
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty",
    "cero uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince "
    "dieciseis diecisiete dieciocho diecinueve veinte",
    "zero un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze "
    "seize dix-sept dix-huit dix-neuf vingt",
    "null eins zwei drei vier funf sechs sieben acht neun zehn elf zwolf dreizehn vierzehn "
    "funfzehn sechzehn siebzehn achtzehn neunzehn zwanzig",
    "zero uno due tre quattro cinque sei sette otto nove dieci undici dodici tredici quattordici "
    "quindici sedici diciassette diciotto diciannove venti",
    "zero um dois tres quatro cinco seis sete oito nove dez onze doze treze catorze quinze "
    "dezesseis dezessete dezoito dezenove vinte",
]:
    for _i, _w in enumerate(_lang_words.split()):
        _NUMBERS.setdefault(_w, str(_i))
for _w, _v in {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
               "ninety": 90, "hundred": 100, "thousand": 1000, "treinta": 30, "cuarenta": 40,
               "cincuenta": 50, "cien": 100, "ciento": 100, "mil": 1000, "trente": 30,
               "quarante": 40, "cinquante": 50, "cent": 100, "dreissig": 30, "vierzig": 40,
               "funfzig": 50, "hundert": 100, "tausend": 1000, "trenta": 30, "quaranta": 40,
               "cinquanta": 50, "cento": 100, "trinta": 30, "quarenta": 40, "cinquenta": 50, "cem": 100,
               "una": 1, "une": 1, "ein": 1, "eine": 1, "uma": 1, "oh": 0}.items():
    _NUMBERS.setdefault(_w, str(_v))
# "a"/"an"/"un"/"um" are too common to be read as numbers except where listed above
for _w in ("un", "um", "una", "une", "uma", "ein", "eine", "oh", "cent", "mil"):
    _NUMBERS.pop(_w, None)

_SPLIT_RE = re.compile(r"[^\w@%&+#]+")


def strip_accents(s: str) -> str:
    s = unicodedata.normalize("NFKD", s)
    return "".join(c for c in s if not unicodedata.combining(c)).replace("ß", "ss").replace(
        "æ", "ae").replace("œ", "oe").replace("ø", "o").replace("ł", "l")


def _lang(language: str | None) -> str:
    return (language or "en").lower().split("-")[0].split("_")[0]


def _address_tokens(w: str, lang: str) -> tuple[str, ...]:
    """An address: every '.' is read "dot", '@' is read "at"."""
    out: list[str] = []
    for p in re.split(r"([@.])", re.sub(r"^https?://", "", w)):
        if p == "@":
            out.extend(_AT.get(lang, ["at"]))
        elif p == ".":
            out.append(_DOT.get(lang, "dot"))
        elif p:
            out.extend(t for t in re.split(r"[^\w]+", p) if t)
    return tuple(out)


def _symbol_words(sym: str, lang: str) -> list[str]:
    """How a symbol inside a word is read out."""
    if sym == "@":
        return list(_AT.get(lang, ["at"]))
    if sym == "%":
        return list(_PERCENT.get(lang, ["percent"]))
    if sym == "&":
        return [_AND.get(lang, "and")]
    if sym == "+":
        return [_PLUS.get(lang, "plus")]
    return list(_HASH.get(lang, ["hash"]))


@lru_cache(maxsize=8192)
def _tokens_cached(word: str, language: str) -> tuple[str, ...]:
    lang = _lang(language)
    w = strip_accents(word.lower()).replace("’", "'")
    if "@" in w or (("." in w) and ADDRESS_RE.search(w) and not re.fullmatch(r"[\d.,]+", w)):
        return _address_tokens(w, lang)
    if re.fullmatch(r"\d+([.,:]\d+)*", w):
        return tuple(t for t in re.split(r"[.,:]", w) if t)
    out: list[str] = []
    w = w.replace("'", "").replace("-", "")
    for piece in _SPLIT_RE.split(w):
        for sub in re.split(r"([@%&+#])", piece or ""):
            if sub in ("@", "%", "&", "+", "#"):
                out.extend(_symbol_words(sub, lang))
            elif sub.replace("_", ""):
                sub = sub.replace("_", "")
                out.append(_NUMBERS.get(sub, sub))
    return tuple(out)


def word_tokens(word: str, language: str | None = "en") -> list[str]:
    """Normalised tokens one written or heard word stands for (may be empty: punctuation)."""
    return list(_tokens_cached(word, _lang(language)))


def _levenshtein(a: str, b: str) -> int:
    """Edit distance, bit-parallel (Myers/Hyyrö): the alignment asks for hundreds of word
    pairs per answer, and the row-by-row table was 6 % of a verification."""
    if a == b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    m = len(b)
    if not m:
        return len(a)
    peq: dict[str, int] = {}
    for i, ch in enumerate(b):
        peq[ch] = peq.get(ch, 0) | (1 << i)
    full = (1 << m) - 1
    top = 1 << (m - 1)
    pv, mv, score = full, 0, m
    for ch in a:
        eq = peq.get(ch, 0)
        xv = eq | mv
        xh = ((((eq & pv) + pv) & full) ^ pv) | eq
        ph = (mv | ~(xh | pv)) & full
        mh = pv & xh
        if ph & top:
            score += 1
        elif mh & top:
            score -= 1
        ph = ((ph << 1) | 1) & full
        mh = (mh << 1) & full
        pv = (mh | ~(xv | ph)) & full
        mv = ph & xv
    return score


def _squash(s: str) -> str:
    """A rough phonetic key: similar-sounding spellings meet (ph/f, ck/k, doubled letters)."""
    s = s.replace("ph", "f").replace("ck", "k").replace("qu", "k").replace("c", "k").replace(
        "y", "i").replace("z", "s").replace("w", "v").replace("h", "")
    out = []
    for ch in s:
        if not out or out[-1] != ch:
            out.append(ch)
    return "".join(out)


@lru_cache(maxsize=65536)
def similarity(a: str, b: str) -> float:
    """0..1 similarity between two normalised tokens (1 = same)."""
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    if a.isdigit() != b.isdigit():
        return 0.0
    d = _levenshtein(a, b) / max(len(a), len(b))
    sa, sb = _squash(a), _squash(b)
    d2 = _levenshtein(sa, sb) / max(len(sa), len(sb), 1) if sa and sb else 1.0
    return max(0.0, 1.0 - min(d, d2 + 0.05))
