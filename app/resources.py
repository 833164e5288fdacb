"""Finding files in resources/ both from a source checkout and inside a frozen bundle."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path | None:
    candidates = []
    if getattr(sys, "frozen", False):
        candidates.append(Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / "resources")
    candidates.append(Path(__file__).resolve().parent.parent / "resources")
    for c in candidates:
        if c.is_dir():
            return c
    return None


def icon_path(name: str = "verbatim.svg") -> Path | None:
    base = resources_dir()
    if base is None:
        return None
    p = base / "icons" / name
    return p if p.exists() else None
