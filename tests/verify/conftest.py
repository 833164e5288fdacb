"""Shared fixtures: one verifier (one loaded model) for the whole session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(_ROOT / "bench"))   # corpus helpers (espeak speech with word marks)


@pytest.fixture(scope="session")
def verifier():
    from app.verify.verifier import Verifier

    v = Verifier()
    v.load()
    return v
