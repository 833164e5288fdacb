"""E-mail and web addresses in text: read out their own way ("at", "dot") and no language's words."""

from __future__ import annotations

import re

ADDRESS_RE = re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$|^(www\.|https?://)|^[\w-]+(\.[a-z]{2,})+$",
                        re.IGNORECASE)


def is_address(word: str) -> bool:
    """An e-mail or web address (read out with "at"/"dot"), not a number like "3.5"."""
    w = word.strip().rstrip(".,;:!?")
    return "@" in w or (("." in w) and bool(ADDRESS_RE.search(w)) and not re.fullmatch(r"[\d.,]+", w))
