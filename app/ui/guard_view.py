"""The Guard view: run Verbatim Guard (app.guard) in front of your own Realtime app, watch
each answer's verdict, open one in the main window.

Thin over app.guard: Guard runs on its own thread; its listener calls arrive here through
queued signals (never a widget touched from Guard's thread). Starting and stopping, which
can take a moment (binding, the engine, the offline voices), run off the Qt thread.
"""

from __future__ import annotations

import asyncio
import logging
import time

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.guard import Guard, GuardError, GuardListener, GuardResponse, GuardSession, UpstreamError
from app.ui import theme

log = logging.getLogger(__name__)

LOCAL_ENGINE = "Verbatim's local engine"
DEFAULT_PORT = 8766
# (label, Guard mode, hold_audio)
MODE_CHOICES = [
    ("Observe — change nothing, record each verdict", "observe", False),
    ("Repair — replace sentences said wrongly, voice those left out (each sentence a little later)", "repair", True),
    ("Repair, append-only — live audio, only voice sentences left out at the end", "repair", False),
]
VERDICT = {"match": "matches", "mismatch": "differs", "repaired": "repaired", "unverified": "not checked",
           "incomplete": "incomplete"}
PREVIEW_WORDS = 10
HISTORY_ID = Qt.ItemDataRole.UserRole
STATUS_ROLE = Qt.ItemDataRole.UserRole + 1


def first_words(text: str, n: int = PREVIEW_WORDS) -> str:
    words = (text or "").split()
    return " ".join(words[:n]) + (" …" if len(words) > n else "")


def snippets(url: str) -> str:
    """What an app changes to go through Guard, one line per SDK."""
    root = url[: -len("/v1")] if url.endswith("/v1") else url
    return (f'Python:  AsyncOpenAI(websocket_base_url="{url}")\n'
            f'Azure:   AsyncAzureOpenAI(azure_endpoint=..., api_version=...,\n'
            f'                          websocket_base_url="{root}/openai")\n'
            f"Node:    new OpenAI({{ baseURL: '{url.replace('ws', 'http', 1)}' }})   (needs wss: see README)")


SNIPPET_LINES = 4
INTRO = ("<b>Verbatim Guard</b> sits between your own Realtime app and the service. Point your app "
         "at the address below: Guard passes everything through, checks that each spoken answer says "
         "its transcript, and in <i>Repair</i> mode re-voices what the audio left out or said in the "
         "wrong language, so the audio your app receives says its transcript.")


class _Bridge(QObject):
    """Lives on the Qt thread; emitting from Guard's thread queues the call onto it."""
    session_opened = Signal(object)
    session_closed = Signal(object)
    response = Signal(object)


class _Listener(GuardListener):
    def __init__(self, bridge: _Bridge) -> None:
        self.bridge = bridge

    def on_session_opened(self, session: GuardSession) -> None:
        self.bridge.session_opened.emit(session)

    def on_session_closed(self, session: GuardSession) -> None:
        self.bridge.session_closed.emit(session)

    def on_response(self, response: GuardResponse) -> None:
        self.bridge.response.emit(response)


class GuardView(QWidget):
    open_requested = Signal(str)       # a history id: the main window shows that answer
    response_saved = Signal(str)       # a new history entry (the history list refreshes)
    running_changed = Signal(bool)

    def __init__(self, services, parent=None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Verbatim Guard")
        self.services = services
        self.guard: Guard | None = None
        self.engine_key: str | None = None
        self._busy = False
        self._sessions: dict[str, QTreeWidgetItem] = {}
        self._bridge = _Bridge(self)
        self._bridge.session_opened.connect(self._session_opened)
        self._bridge.session_closed.connect(self._session_closed)
        self._bridge.response.connect(self.add_response)
        self._build()
        self._set_running(False)

    # --- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        self.intro = QLabel(INTRO, objectName="guard_intro", wordWrap=True)
        lay.addWidget(self.intro)
        lay.addLayout(self._connection_form())
        self.error = QLabel(objectName="error", wordWrap=True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        lay.addWidget(self.error)
        self.state = QLabel("Not running", objectName="guard_state", wordWrap=True)
        lay.addWidget(self.state)
        lay.addLayout(self._address_row())
        lay.addWidget(self._snippets_box())
        lay.addWidget(self._response_list(), 1)
        lay.addWidget(QLabel("Select an answer to see it in the main window, with its red flags and replay.",
                             objectName="hint", wordWrap=True))
        self.resize(820, 560)

    def _connection_form(self) -> QFormLayout:
        """Where to forward, in which mode, on which port; Start and Stop."""
        self.upstream = QComboBox(editable=True, objectName="upstream")
        self.upstream.addItems([LOCAL_ENGINE, "wss://api.openai.com/v1", "https://YOUR-RESOURCE.openai.azure.com"])
        self.upstream.setToolTip("Where Guard forwards your app's Realtime connection: the local engine, "
                                 "or a ws(s):// or http(s):// service base URL")
        self.mode = QComboBox(objectName="mode")
        for label, mode, hold in MODE_CHOICES:
            self.mode.addItem(label, (mode, hold))
        self.port = QSpinBox(objectName="port", minimum=0, maximum=65535, value=DEFAULT_PORT)
        self.port.setToolTip("0 picks a free port")
        self.start_button = QPushButton("Start", objectName="primary", clicked=self.start)
        self.stop_button = QPushButton("Stop", clicked=self.stop)
        form = QFormLayout()
        form.addRow("Forward to", self.upstream)
        form.addRow("Mode", self.mode)
        port_row = QHBoxLayout()
        port_row.addWidget(self.port)
        port_row.addStretch(1)
        port_row.addWidget(self.start_button)
        port_row.addWidget(self.stop_button)
        form.addRow("Port", port_row)
        return form

    def _address_row(self) -> QHBoxLayout:
        """The base URL the user's app points at, and the buttons that copy it and the key."""
        self.url = QLineEdit(objectName="guard_url", readOnly=True)
        self.url.setPlaceholderText("Start Guard to get the address for your app")
        self.copy_button = QPushButton("Copy", clicked=self.copy_url)
        self.copy_key_button = QPushButton("Copy engine key", clicked=self.copy_key)
        self.copy_key_button.setToolTip("The local engine's key for this run: your app sends it as its API key")
        url_row = QHBoxLayout()
        url_row.addWidget(QLabel("Your app's base URL"))
        url_row.addWidget(self.url, 1)
        url_row.addWidget(self.copy_button)
        url_row.addWidget(self.copy_key_button)
        return url_row

    def _snippets_box(self) -> QPlainTextEdit:
        self.snippets = QPlainTextEdit(objectName="snippets", readOnly=True)
        self.snippets.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = self.snippets.font()
        font.setFamily("monospace")
        font.setStyleHint(font.StyleHint.Monospace)
        self.snippets.setFont(font)
        # every line whole, plus room for a horizontal scroll bar in a narrow window
        doc_margin = int(self.snippets.document().documentMargin())
        self.snippets.setFixedHeight(self.snippets.fontMetrics().lineSpacing() * SNIPPET_LINES + 2 * doc_margin
                                     + 2 * self.snippets.frameWidth()
                                     + self.snippets.horizontalScrollBar().sizeHint().height() + 2)
        return self.snippets

    def _response_list(self) -> QTreeWidget:
        self.list = QTreeWidget(objectName="guard_responses")
        self.list.setHeaderLabels(["Time", "Verdict", "What was said"])
        self.list.setRootIsDecorated(True)
        self.list.setUniformRowHeights(True)
        self.list.setColumnWidth(0, 150)
        self.list.setColumnWidth(1, 120)
        self.list.itemActivated.connect(self._open_item)
        self.list.currentItemChanged.connect(lambda cur, _prev: self._open_item(cur))
        return self.list

    # --- start / stop -----------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.guard is not None

    def _set_running(self, running: bool) -> None:
        for w in (self.upstream, self.mode, self.port):
            w.setEnabled(not running and not self._busy)
        self.start_button.setEnabled(not running and not self._busy)
        self.stop_button.setEnabled(running and not self._busy)
        self.copy_button.setEnabled(running)
        self.copy_key_button.setVisible(running and self.engine_key is not None)
        if running:
            g = self.guard
            hold = ", append-only" if g.repair == "append" else ""
            where = f"the local engine ({g.upstream})" if self.engine_key else str(g.upstream)
            self.state.setText(f"Running ({g.mode}{hold}), forwarding to {where}")
            self.url.setText(g.url)
            self.snippets.setPlainText(snippets(g.url))
        else:
            self.url.clear()
            self.snippets.setPlainText(snippets(f"ws://127.0.0.1:{self.port.value() or 'PORT'}/v1"))
        self.running_changed.emit(running)

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))

    def start(self) -> asyncio.Future | None:
        if self.running or self._busy:
            return None
        return asyncio.ensure_future(self._start())

    async def _start(self) -> None:
        self.show_error("")
        self._busy = True
        self.state.setText("Starting…")
        self._set_running(False)
        typed = self.upstream.currentText().strip()
        mode, hold = self.mode.currentData()
        port = self.port.value()
        try:
            guard = await asyncio.to_thread(self._make_guard, typed, mode, hold, port)
        except (GuardError, UpstreamError) as exc:
            self._failed(str(exc).replace("--upstream", "The address"))
            return
        except OSError as exc:
            self._failed(f"Guard cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}. "
                         "Another program (or another Guard) may be using it: choose another port, or 0 for any free one.")
            return
        except Exception as exc:
            log.exception("guard failed to start")
            self._failed(f"Guard could not start: {exc}")
            return
        self._busy = False
        self.guard = guard
        self._set_running(True)

    def _failed(self, message: str) -> None:
        self._busy = False
        self.engine_key = None
        self.show_error(message)
        self._set_running(False)
        self.state.setText("Not running")

    def _make_guard(self, typed: str, mode: str, hold: bool, port: int) -> Guard:
        """Blocking: the engine, the verifier, binding the port."""
        self.engine_key = None
        if not typed or typed == LOCAL_ENGINE:
            engine = self.services.ensure_engine()
            upstream, self.engine_key = engine.url, engine.api_key
        else:
            upstream = typed
        try:
            history = self.services.store()
        except Exception:
            log.exception("guard: history unavailable, answers will not be saved")
            history = None
        guard = Guard(upstream, port=port, mode=mode, hold_audio=hold, verifier=self.services.verifier(),
                      history=history, listener=_Listener(self._bridge))
        return guard.start_in_thread()

    def stop(self) -> asyncio.Future | None:
        if not self.running or self._busy:
            return None
        return asyncio.ensure_future(self._stop())

    async def _stop(self) -> None:
        guard, self._busy = self.guard, True
        self.state.setText("Stopping…")
        self._set_running(True)
        try:
            await asyncio.to_thread(guard.stop_thread)
        finally:
            self.guard, self._busy, self.engine_key = None, False, None
            self._set_running(False)
            self.state.setText("Stopped")

    def shutdown(self) -> None:
        """The app is closing: stop Guard now (blocking, bounded by Guard's own timeout)."""
        guard, self.guard = self.guard, None
        if guard is not None:
            try:
                guard.stop_thread()
            except Exception:
                log.exception("stopping guard failed")

    def closeEvent(self, event) -> None:
        # no server left running behind a closed window
        self.shutdown()
        self._set_running(False)
        super().closeEvent(event)

    # --- copy -------------------------------------------------------------------------------
    def copy_url(self) -> None:
        if self.url.text():
            QGuiApplication.clipboard().setText(self.url.text())
            self.state.setText(f"{self.state.text().split(' — ')[0]} — address copied")

    def copy_key(self) -> None:
        if self.engine_key:
            QGuiApplication.clipboard().setText(self.engine_key)

    # --- what passes through (Qt thread) -------------------------------------------------------
    def _session_item(self, session_id: str, path: str = "", opened_at: float | None = None) -> QTreeWidgetItem:
        item = self._sessions.get(session_id)
        if item is None:
            item = QTreeWidgetItem([_clock(opened_at), "◌ open", f"session {path}".strip()])
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsSelectable)
            self.list.addTopLevelItem(item)
            item.setExpanded(True)
            self._sessions[session_id] = item
        return item

    def _session_opened(self, s: GuardSession) -> None:
        self._session_item(s.id, s.path, s.opened_at)

    def _session_closed(self, s: GuardSession) -> None:
        item = self._session_item(s.id, s.path, s.opened_at)
        n = f"{s.responses} answer{'s' if s.responses != 1 else ''}"
        item.setText(1, "■ closed")
        item.setText(2, f"session {s.path} — {n}, closed {_clock(s.closed_at)}")

    def add_response(self, r: GuardResponse) -> None:
        """One answer Guard checked, under its session (Qt thread)."""
        parent = self._session_item(r.session_id)
        glyph = theme.look(r.status).glyph or "?"
        item = QTreeWidgetItem([_clock(time.time()), f"{glyph} {VERDICT.get(r.status, r.status)}",
                                first_words(r.transcript)])
        item.setData(1, STATUS_ROLE, r.status)
        item.setForeground(1, _brush(_verdict_colour(r.status)))
        flags = "; ".join(f"sentence {s.index + 1}: {theme.look(s.status).label or s.status}" for s in r.flagged)
        tip = r.transcript + (f"\n\n{flags}" if flags else "")
        if r.appended_text:
            tip += f"\nGuard voiced: {r.appended_text}"
        if r.error:
            tip += f"\n{r.error}"
        item.setToolTip(2, tip)
        item.setData(0, HISTORY_ID, r.history_id)
        if r.history_id is None:
            item.setToolTip(0, "Not saved to history, so it cannot be opened")
        parent.addChild(item)
        parent.setExpanded(True)
        if r.history_id:
            self.response_saved.emit(r.history_id)

    def restyle(self) -> None:
        """Light/dark switched: recolour each verdict in the colours in use now."""
        for item in self.responses():
            item.setForeground(1, _brush(_verdict_colour(item.data(1, STATUS_ROLE))))

    def responses(self) -> list[QTreeWidgetItem]:
        return [self.list.topLevelItem(i).child(j) for i in range(self.list.topLevelItemCount())
                for j in range(self.list.topLevelItem(i).childCount())]

    def _open_item(self, item: QTreeWidgetItem | None) -> None:
        if item is None or item.parent() is None:
            return
        uid = item.data(0, HISTORY_ID)
        if uid:
            self.open_requested.emit(uid)
        else:
            self.show_error("This answer was not saved to history (history is unavailable), so it cannot be opened.")


def _clock(t: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) if t else ""


def _verdict_colour(status: str) -> str:
    return {"mismatch": theme.FLAG_TEXT, "repaired": theme.OK, "match": theme.OK}.get(status, theme.WARN)


def _brush(colour: str):
    from PySide6.QtGui import QBrush, QColor

    return QBrush(QColor(colour))
