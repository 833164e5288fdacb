"""Uncaught exceptions and Qt warnings go to the log, and the user sees a dialog
instead of the app vanishing."""

from __future__ import annotations

import logging
import sys
import traceback

from app.diagnostics.logs import redact

log = logging.getLogger("verbatim.crash")
_qt_log = logging.getLogger("qt")


def _qt_message_handler(mode, context, message) -> None:
    from PySide6.QtCore import QtMsgType

    level = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
             QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
             QtMsgType.QtFatalMsg: logging.CRITICAL}.get(mode, logging.WARNING)
    where = f" ({context.file}:{context.line})" if context and context.file else ""
    _qt_log.log(level, "%s%s", message, where)


def install(show_dialog: bool = True) -> None:
    from PySide6.QtCore import qInstallMessageHandler

    qInstallMessageHandler(_qt_message_handler)
    previous = sys.excepthook

    def hook(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        text = redact("".join(traceback.format_exception(exc_type, exc, tb)))
        log.critical("uncaught exception\n%s", text)
        if show_dialog:
            _show(exc_type.__name__, redact(str(exc)), text)

    sys.excepthook = hook


def _show(title: str, message: str, details: str) -> None:
    from PySide6.QtWidgets import QApplication, QMessageBox

    if QApplication.instance() is None:
        return
    from app.diagnostics.logs import log_dir

    box = QMessageBox(QMessageBox.Icon.Critical, "Verbatim hit a problem",
                      f"Something went wrong ({title}): {message}\n\n"
                      f"Your history is safe. Details were written to the log in {log_dir()}.")
    box.setDetailedText(details)
    box.exec()
