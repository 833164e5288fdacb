"""Start the Qt application on a qasync loop (asyncio and Qt share one thread)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from app import APP_ID, APP_NAME, __version__

log = logging.getLogger(__name__)


def make_app(argv: list[str] | None = None):
    from PySide6.QtGui import QGuiApplication, QIcon
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setOrganizationDomain(APP_ID.rsplit(".", 1)[0])
    app.setApplicationVersion(__version__)
    QGuiApplication.setDesktopFileName(APP_ID)
    from app.resources import icon_path

    icon = icon_path()
    if icon is not None:
        app.setWindowIcon(QIcon(str(icon)))
    return app


def watch_task_failures(loop, show) -> None:
    """Unhandled failures of background tasks are logged and shown, not only logged."""
    from app.diagnostics import task_errors

    task_errors.install(loop)
    task_errors.add_listener(show)


def compose_window(engine: str | None = None):
    """The composition root: settings -> services (client, engine, verifier, history,
    player) -> the window, which builds none of them itself."""
    from PySide6.QtCore import QSettings

    from app.pipeline.services import Services
    from app.ui.main_window import MainWindow
    from app.ui.qt_settings import load_settings

    qsettings = QSettings()
    settings = load_settings(qsettings)
    if engine and engine != "auto":
        settings.provider = engine       # `python -m app --engine local`: this run's choice
    services = Services(settings)
    return MainWindow(services=services, player=services.make_player(), qsettings=qsettings)


def run_gui(args=None) -> int:
    import qasync

    from app.diagnostics.logs import enable_native_crash_log, setup_logging
    from app.ui import crash

    path = setup_logging()
    log.info("%s %s starting; log at %s", APP_NAME, __version__, path)
    try:
        crashed_before = enable_native_crash_log(path.parent)
    except OSError:
        log.exception("native crash log unavailable")
        crashed_before = None
    app = make_app()
    crash.install()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = compose_window(getattr(args, "engine", None))
    watch_task_failures(loop, window.show_error)
    window.show()
    if crashed_before:
        window.show_error("Verbatim closed unexpectedly last time. Your history is safe; the details "
                          f"are in {path.parent / 'native-crash.previous.log'}.")
    if os.environ.get("VERBATIM_STARTUP_PROBE"):
        # cold-start benchmark: leave as soon as the window is on screen (time the process)
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, app.quit)   # the first loop turn comes after the window is shown
    closing = asyncio.Event()
    app.aboutToQuit.connect(closing.set)
    with loop:
        loop.run_until_complete(closing.wait())
    return 0
