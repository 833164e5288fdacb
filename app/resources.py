"""Finding files in resources/ both from a source checkout and inside a frozen bundle."""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any


class MissingResource(RuntimeError):
    """A file that ships in resources/ is not there: a broken checkout or bundle."""


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


def load_seed_cases(base: Path | None) -> dict[str, dict[str, Any]]:
    """The seed's failure cases by id. Missing or empty is an error, never `{}`: tests
    parametrized from it would otherwise be skipped and a broken bundle would look fine."""
    path = base / "seed-cases.json" if base is not None else None
    if path is None or not path.is_file():
        raise MissingResource(f"the seed cases are missing ({path or 'no resources/ folder found'})")
    data = json.loads(path.read_text(encoding="utf-8"))
    cases = {c["id"]: {"target_language": data.get("target_language", "en"),
                       "source_language": data.get("source_language", "es"), **c}
             for c in data.get("cases", [])}
    if not cases:
        raise MissingResource(f"{path} lists no cases")
    return cases


@lru_cache(maxsize=1)
def seed_cases() -> dict[str, dict[str, Any]]:
    return load_seed_cases(resources_dir())
