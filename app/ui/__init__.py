"""The Qt window and its widgets; thin over the Qt-free core."""

from app.ui import qt_imports

qt_imports.install()
