"""The history list: search, replay, export, delete with undo. Thin over app.history."""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QMenu,
                               QPushButton, QVBoxLayout, QWidget, QApplication)

from app.ui import theme

log = logging.getLogger(__name__)
PAGE = 100
STATUS_LABEL = {"match": "matches", "mismatch": "mismatch", "repaired": "repaired", "incomplete": "incomplete",
                "failed": "failed", "verifying": "not checked", "unverified": "not verified",
                "streaming": "receiving"}


class HistoryPanel(QWidget):
    utterance_selected = Signal(str)
    replay_requested = Signal(str)

    def __init__(self, store, parent=None) -> None:
        super().__init__(parent)
        self.store = store
        self._loaded = 0
        self._exhausted = False
        self._last_deleted: str | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        title = QLabel("History", self)
        title.setObjectName("sectionTitle")
        lay.addWidget(title)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search what you typed or heard…")
        self.search.setClearButtonEnabled(True)
        lay.addWidget(self.search)
        self.list = QListWidget(self)
        self.list.setAlternatingRowColors(True)
        self.list.setWordWrap(True)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        lay.addWidget(self.list, 1)
        self.notice = QLabel(self)
        self.notice.setWordWrap(True)
        self.notice.hide()
        lay.addWidget(self.notice)
        undo_row = QHBoxLayout()
        self.undo_label = QLabel(self)
        self.undo_button = QPushButton("Undo", self)
        undo_row.addWidget(self.undo_label, 1)
        undo_row.addWidget(self.undo_button)
        self.undo_bar = QWidget(self)
        self.undo_bar.setLayout(undo_row)
        self.undo_bar.hide()
        lay.addWidget(self.undo_bar)
        buttons = QHBoxLayout()
        self.replay_button = QPushButton("▶ Replay", self)
        self.export_button = QPushButton("Export…", self)
        self.delete_button = QPushButton("Delete", self)
        for b in (self.replay_button, self.export_button, self.delete_button):
            b.setEnabled(False)
            buttons.addWidget(b)
        lay.addLayout(buttons)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._debounce.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.list.currentItemChanged.connect(self._current_changed)
        self.list.itemActivated.connect(lambda it: self.replay_requested.emit(it.data(Qt.ItemDataRole.UserRole)))
        self.list.verticalScrollBar().valueChanged.connect(self._maybe_load_more)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.replay_button.clicked.connect(lambda: self._with_current(self.replay_requested.emit))
        self.export_button.clicked.connect(lambda: self._with_current(self.export_dialog))
        self.delete_button.clicked.connect(lambda: self._with_current(self.delete))
        self.undo_button.clicked.connect(self.undo_delete)
        if getattr(store, "warning", None):
            self.notice.setText("⚠ " + store.warning)
            self.notice.show()
        self.refresh()

    # --- contents --------------------------------------------------------------------------
    def refresh(self) -> None:
        current = self.current_id()
        self.list.clear()
        self._loaded = 0
        self._exhausted = False
        self._load_more()
        if current:
            self.select(current)

    def _load_more(self) -> None:
        if self._exhausted:
            return
        try:
            rows = self.store.list(self.search.text() or None, limit=PAGE, offset=self._loaded)
        except Exception as exc:
            log.exception("history list failed")
            self.notice.setText(f"⚠ The history could not be read: {exc}")
            self.notice.show()
            return
        for r in rows:
            self.list.addItem(self._item(r))
        self._loaded += len(rows)
        self._exhausted = len(rows) < PAGE

    def _item(self, r) -> QListWidgetItem:
        when = time.strftime("%d %b %H:%M", time.localtime(r.created_at))
        glyph = theme.GLYPH.get(r.status, "")
        label = STATUS_LABEL.get(r.status, r.status)
        text = (r.transcript or r.input_text).replace("\n", " ")
        item = QListWidgetItem(f"{glyph} {text[:80]}\n{when} · {label} · {r.duration_s:.1f} s · "
                               f"{r.source_language}→{r.target_language}")
        item.setData(Qt.ItemDataRole.UserRole, r.id)
        item.setData(Qt.ItemDataRole.UserRole + 1, r.status)
        item.setToolTip(f"Typed: {r.input_text}\nHeard: {r.transcript}")
        if r.status in ("mismatch", "failed"):
            item.setForeground(Qt.GlobalColor.darkRed)
        return item

    def _maybe_load_more(self, value: int) -> None:
        bar = self.list.verticalScrollBar()
        if value >= bar.maximum() - 2:
            self._load_more()

    def ids(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def current_id(self) -> str | None:
        it = self.list.currentItem()
        return it.data(Qt.ItemDataRole.UserRole) if it else None

    def select(self, uid: str) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == uid:
                self.list.setCurrentRow(i)
                return

    def _current_changed(self, cur, _prev) -> None:
        for b in (self.replay_button, self.export_button, self.delete_button):
            b.setEnabled(cur is not None)
        if cur is not None:
            self.utterance_selected.emit(cur.data(Qt.ItemDataRole.UserRole))

    def _with_current(self, fn) -> None:
        uid = self.current_id()
        if uid:
            fn(uid)

    # --- actions ------------------------------------------------------------------------------
    def keyPressEvent(self, e) -> None:
        if e.key() == Qt.Key.Key_Delete:
            self._with_current(self.delete)
        elif e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._with_current(self.replay_requested.emit)
        else:
            super().keyPressEvent(e)

    def _change(self, action) -> bool:
        """Run a store change; a refusal (read-only, busy, disk full) becomes the notice."""
        from app.history import HistoryError

        try:
            return bool(action())
        except HistoryError as exc:
            self.notice.setText(f"⚠ {exc}")
            self.notice.show()
            return False

    def delete(self, uid: str) -> None:
        if self._change(lambda: self.store.delete(uid)):
            self._last_deleted = uid
            self.undo_label.setText("Deleted from history.")
            self.undo_bar.show()
            self.refresh()

    def undo_delete(self) -> None:
        uid = self._last_deleted
        if uid and self._change(lambda: self.store.undelete(uid)):
            uid, self._last_deleted = self._last_deleted, None
            self.undo_bar.hide()
            self.refresh()
            self.select(uid)

    def export_dialog(self, uid: str, path: str | None = None, fmt: str | None = None) -> str | None:
        from app.history.export import ExportError, export

        if path is None:
            path, chosen = QFileDialog.getSaveFileName(
                self, "Export", "", "Audio (*.wav);;Subtitles (*.srt);;Web subtitles (*.vtt);;JSON (*.json)")
            if not path:
                return None
        fmt = fmt or path.rsplit(".", 1)[-1].lower()
        u = self.store.get(uid)
        try:
            import os
            import shutil

            written = export(u, fmt, os.path.dirname(path) or ".")
            shutil.move(str(written), path)
        except (ExportError, OSError) as exc:
            self.notice.setText(f"⚠ Export failed: {exc}")
            self.notice.show()
            return None
        self.notice.setText(f"Exported to {path}")
        self.notice.show()
        return path

    def _context_menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        uid = item.data(Qt.ItemDataRole.UserRole)
        menu = QMenu(self)
        menu.addAction("Replay", lambda: self.replay_requested.emit(uid))
        menu.addAction("Copy transcript", lambda: self.copy_transcript(uid))
        menu.addAction("Export…", lambda: self.export_dialog(uid))
        menu.addSeparator()
        menu.addAction("Delete", lambda: self.delete(uid))
        menu.popup(self.list.viewport().mapToGlobal(pos))

    def copy_transcript(self, uid: str) -> None:
        u = self.store.get(uid)
        if u is not None:
            QApplication.clipboard().setText(u.transcript)
