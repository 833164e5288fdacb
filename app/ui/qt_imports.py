"""Keep PySide6's import hook from running other modules' code mid-import.

After PySide6 is imported, every later import is checked for whether the module uses
PySide6 (PYSIDE-2029), with ``inspect.getsource(module)``. That asks the module for
``__wrapped__``, which runs a module-level ``__getattr__`` such as pydantic's migration
shim; when that shim imports a module still being initialised, the import fails with
"partially initialized module". The first translation once died that way ("Could not
connect to local engine") while openai was imported on a worker thread. Reading the file
gives the same answer and runs no module code.
"""

from __future__ import annotations

import sys


def _uses_pyside(module) -> bool:
    # vars() instead of getattr: a module-level __getattr__ must not run here.
    path = vars(module).get("__file__")
    if not isinstance(path, str) or not path.endswith(".py"):
        return False     # builtins, extensions, source-less modules: what getsource answered too
    try:
        with open(path, "rb") as f:
            return b"PySide6" in f.read()
    except OSError:
        return False


def install() -> bool:
    """Replace the hook's source check; True if it was replaced now."""
    import PySide6.QtCore  # noqa: F401  (the hook exists once PySide6 is imported)

    feature = sys.modules.get("shibokensupport.feature")
    if feature is None or not callable(getattr(feature, "_mod_uses_pyside", None)):
        return False     # a PySide6 without this hook: nothing to guard
    if feature._mod_uses_pyside is _uses_pyside:
        return False
    feature._mod_uses_pyside = _uses_pyside
    return True
