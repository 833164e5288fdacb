"""PySide6's import hook must not run a module's own __getattr__ mid-import.

The first translation once failed with "Could not connect to local engine": importing
openai after PySide6 made the hook ask pydantic.errors for __wrapped__, whose migration
shim imported a module still being initialised. A module that raises from __getattr__
reproduces it without depending on pydantic's import order.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json, sys
import PySide6.QtCore
import app.ui                       # installs the guard
import hostile, uses_qt, plain
d = sys.modules["shibokensupport.feature"].pyside_feature_dict
print(json.dumps({n: d.get(n) for n in ("hostile", "uses_qt", "plain")}))
"""


def test_a_module_with_a_raising_getattr_imports_after_pyside(tmp_path):
    (tmp_path / "hostile.py").write_text(
        "def __getattr__(name):\n    raise ImportError('partially initialized: ' + name)\n")
    (tmp_path / "uses_qt.py").write_text("from PySide6 import QtCore  # noqa\n")
    (tmp_path / "plain.py").write_text("X = 1\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]),
               QT_QPA_PLATFORM="offscreen")
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env,
                       cwd=str(tmp_path), timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    # The hook still tells modules that use PySide6 (0) from those that do not (-1).
    assert json.loads(r.stdout.strip().splitlines()[-1]) == {"hostile": -1, "uses_qt": 0, "plain": -1}


def test_installing_twice_changes_nothing():
    from app.ui import qt_imports

    qt_imports.install()
    assert qt_imports.install() is False
