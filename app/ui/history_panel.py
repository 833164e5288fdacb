"""The history list: search, replay, export, delete with undo. Thin over app.history."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.ui import theme

log = logging.getLogger(__name__)
PAGE = 100
ROW_CHARS = 80
EXPORT_DIR_KEY = "export/last_dir"
EXPORT_FORMAT_KEY = "export/last_format"


def elide(text: str, limit: int = ROW_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def languages_label(source: str, target: str) -> str:
    # the pipeline records a read-back under the language actually spoken, both sides
    return f"read back ({target})" if source == target else f"{source}→{target}"


def export_filter(fmt: str) -> str:
    from app.history.export import DESCRIPTION

    return f"{DESCRIPTION[fmt]} (*.{fmt})"


class HistoryPanel(QWidget):
    utterance_selected = Signal(str)
    replay_requested = Signal(str)

    def __init__(self, store, parent=None, qsettings: QSettings | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.qsettings = qsettings if qsettings is not None else getattr(parent, "qsettings", None) or QSettings()
        self._loaded = 0
        self._exhausted = False
        self._quiet = False          # refreshing: the list changes, the user chose nothing
        self._last_deleted: str | None = None
        self.last_export: Path | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        title = QLabel("History", self)
        title.setObjectName("sectionTitle")
        lay.addWidget(title)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search what you typed or heard…")
        self.search.setClearButtonEnabled(True)
        lay.addWidget(self.search)
        lay.addWidget(self._entry_list(), 1)
        lay.addWidget(self._empty_label(), 1)     # takes the list's place when the list is hidden
        lay.addWidget(self._notice_bar())
        lay.addLayout(self._buttons())
        self._connect(parent)
        if getattr(store, "warning", None):
            self.show_notice("⚠ " + store.warning)
        self.refresh()

    # --- building the panel --------------------------------------------------------------------
    def _entry_list(self) -> QListWidget:
        self.list = QListWidget(self)
        self.list.setAlternatingRowColors(True)
        self.list.setWordWrap(True)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        return self.list

    def _empty_label(self) -> QLabel:
        self.empty_label = QLabel(self)
        self.empty_label.setObjectName("emptyHistory")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.empty_label.setWordWrap(True)
        self.empty_label.setContentsMargins(12, 12, 12, 12)   # its colour: theme.style_sheet (light/dark)
        self.empty_label.hide()
        return self.empty_label

    def _notice_bar(self) -> QWidget:
        # one notice at a time (a delete's undo, an export's folder, a warning): each replaces the last
        notice_row = QHBoxLayout()
        notice_row.setContentsMargins(0, 0, 0, 0)
        self.notice = QLabel(self)
        self.notice.setWordWrap(True)
        self.notice_button = QPushButton(self)
        self.notice_button.clicked.connect(self._notice_action)
        notice_row.addWidget(self.notice, 1)
        notice_row.addWidget(self.notice_button)
        self.notice_bar = QWidget(self)
        self.notice_bar.setLayout(notice_row)
        self.notice_bar.hide()
        self._notice_kind: str | None = None
        return self.notice_bar

    def _buttons(self) -> QHBoxLayout:
        buttons = QHBoxLayout()
        self.replay_button = QPushButton("▶ Replay", self)
        self.export_button = QPushButton("Export…", self)
        self.delete_button = QPushButton("Delete", self)
        for b in (self.replay_button, self.export_button, self.delete_button):
            b.setEnabled(False)
            buttons.addWidget(b)
        return buttons

    def _connect(self, parent) -> None:
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
        # the whole window: text boxes keep Ctrl+Z for their own undo (they claim it first)
        self.undo_shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Undo), parent or self,
                                       activated=self.undo_delete)

    # --- notices -----------------------------------------------------------------------------
    def show_notice(self, text: str, action: str | None = None) -> None:
        """`action`: None, "undo" (a delete) or "folder" (an export)."""
        self._notice_kind = action
        self.notice.setText(text)
        self.notice_button.setText({"undo": "Undo", "folder": "Show in folder"}.get(action or "", ""))
        self.notice_button.setVisible(action is not None)
        self.notice_bar.setVisible(bool(text))

    def _notice_action(self) -> None:
        if self._notice_kind == "undo":
            self.undo_delete()
        elif self._notice_kind == "folder":
            self.show_in_folder()

    # --- contents --------------------------------------------------------------------------
    def refresh(self, reselect: bool = True, *, show: str | None = None) -> None:
        """Reload the list; keep the selected row, or select `show` (the answer on screen)
        without opening it again."""
        current = show or (self.current_id() if reselect else None)
        self._quiet = True
        try:
            self.list.clear()
            self._loaded = 0
            self._exhausted = False
            self._load_more()
            if current:
                self.select(current)
            else:
                self.list.setCurrentRow(-1)
        finally:
            self._quiet = False
        self._buttons_follow(self.list.currentItem())
        self._show_empty()

    def _show_empty(self) -> None:
        query = self.search.text().strip()
        empty = self.list.count() == 0
        self.empty_label.setText(f"No matches for \u201c{elide(query, 40)}\u201d." if query
                                 else "No translations yet. Each answer you get is kept here.")
        self.empty_label.setVisible(empty)
        self.list.setVisible(not empty)

    def _load_more(self) -> None:
        if self._exhausted:
            return
        try:
            rows = self.store.list(self.search.text() or None, limit=PAGE, offset=self._loaded)
        except Exception as exc:
            log.exception("history list failed")
            self.show_notice(f"⚠ The history could not be read: {exc}")
            return
        for r in rows:
            self.list.addItem(self._item(r))
        self._loaded += len(rows)
        self._exhausted = len(rows) < PAGE

    def _item(self, r) -> QListWidgetItem:
        when = time.strftime("%d %b %H:%M", time.localtime(r.created_at))
        look = theme.look(r.status)
        glyph, label = look.glyph, look.label or r.status
        text = r.transcript or r.input_text
        item = QListWidgetItem(f"{glyph} {elide(text)}\n{when} · {label} · {r.duration_s:.1f} s · "
                               f"{languages_label(r.source_language, r.target_language)}")
        item.setData(Qt.ItemDataRole.UserRole, r.id)
        item.setData(Qt.ItemDataRole.UserRole + 1, r.status)
        item.setToolTip(f"Typed: {elide(r.input_text, 600)}\nHeard: {elide(r.transcript, 600)}")
        if r.status in ("mismatch", "failed"):
            item.setForeground(QColor(theme.FLAG_TEXT))     # the theme's red: legible light or dark
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

    def _buttons_follow(self, cur) -> None:
        for b in (self.replay_button, self.export_button, self.delete_button):
            b.setEnabled(cur is not None)

    def _current_changed(self, cur, _prev) -> None:
        self._buttons_follow(cur)
        if cur is not None and not self._quiet:
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
            self.show_notice(f"⚠ {exc}")
            return False

    def delete(self, uid: str) -> None:
        if self._change(lambda: self.store.delete(uid)):
            self._last_deleted = uid
            self.show_notice("Deleted from history.", action="undo")
            # nothing else gets selected: the main pane keeps what it shows
            self.refresh(reselect=False)

    def undo_delete(self) -> None:
        uid = self._last_deleted
        if uid and self._change(lambda: self.store.undelete(uid)):
            uid, self._last_deleted = self._last_deleted, None
            self.show_notice("Restored.")
            self.refresh(reselect=False)
            self._quiet = True
            try:
                self.select(uid)
            finally:
                self._quiet = False
            self._buttons_follow(self.list.currentItem())

    # --- export -------------------------------------------------------------------------------
    def export_folder(self) -> str:
        saved = self.qsettings.value(EXPORT_DIR_KEY)
        if saved and os.path.isdir(str(saved)):
            return str(saved)
        docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        return docs if docs and os.path.isdir(docs) else str(Path.home())

    def make_export_dialog(self, u) -> QFileDialog:
        """A save dialog with a suggested name, every format the exporter can write, and the
        folder used last time. (Qt's own dialog: it can follow the chosen type as you pick it.)"""
        from app.history.export import available_formats, file_name

        formats = available_formats()
        last = str(self.qsettings.value(EXPORT_FORMAT_KEY) or "wav")
        fmt = last if last in formats else formats[0]
        if fmt in ("wav", "flac") and not len(u.audio):
            fmt = "srt"
        dlg = QFileDialog(self, "Export")
        dlg.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dlg.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dlg.setFileMode(QFileDialog.FileMode.AnyFile)
        dlg.setNameFilters([export_filter(f) for f in formats])
        dlg.selectNameFilter(export_filter(fmt))
        dlg.setDirectory(self.export_folder())
        dlg.selectFile(file_name(u, fmt))
        dlg.setProperty("formats", formats)

        def follow(name_filter: str) -> None:
            # the typed name follows the chosen type: "station.wav" becomes "station.srt"
            new = _format_of_filter(name_filter, formats)
            edit = dlg.findChild(QLineEdit, "fileNameEdit")
            if new and edit is not None:
                stem, ext = os.path.splitext(edit.text())
                if ext.lower().lstrip(".") in formats or not ext:
                    edit.setText(f"{stem or 'export'}.{new}")

        dlg.filterSelected.connect(follow)
        return dlg

    def export_dialog(self, uid: str, path: str | None = None, fmt: str | None = None) -> str | None:
        u = self.store.get(uid)
        if u is None:
            self.show_notice("⚠ That entry is no longer in the history.")
            return None
        if path is None:
            dlg = self.make_export_dialog(u)
            if not dlg.exec() or not dlg.selectedFiles():
                return None
            path, fmt = resolve_export_path(dlg.selectedFiles()[0], dlg.selectedNameFilter(),
                                            dlg.property("formats"))
            if os.path.exists(path) and os.path.basename(path) != os.path.basename(dlg.selectedFiles()[0]):
                # the dialog asked about the name as typed, not with the extension added
                answer = QMessageBox.question(self, "Export", f"{os.path.basename(path)} already exists. Replace it?")
                if answer != QMessageBox.StandardButton.Yes:
                    return None
        return self.export_to(u, path, fmt)

    def export_to(self, u, path: str, fmt: str | None = None) -> str | None:
        from app.history.export import ExportError, export_file

        fmt = (fmt or os.path.splitext(path)[1].lstrip(".") or "wav").lower()
        folder = os.path.dirname(os.path.abspath(path))
        try:
            # private, atomic, never through a symlink; a failure leaves nothing behind
            export_file(u, fmt, path)
        except ExportError as exc:
            self.show_notice(f"⚠ Export failed: {exc}")
            return None
        self.qsettings.setValue(EXPORT_DIR_KEY, folder)
        self.qsettings.setValue(EXPORT_FORMAT_KEY, fmt)
        self.last_export = Path(path)
        self.show_notice(f"Exported to {os.path.basename(path)} in {folder}", action="folder")
        self.notice.setToolTip(path)
        return path

    def show_in_folder(self) -> bool:
        if self.last_export is None:
            return False
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.last_export.parent)))

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


def _format_of_filter(name_filter: str, formats) -> str | None:
    return next((f for f in formats if name_filter.endswith(f"(*.{f})")), None)


def resolve_export_path(path: str, name_filter: str, formats) -> tuple[str, str]:
    """The file and format to write: an extension the user typed wins; otherwise the chosen
    type's extension is added ("station" + Subtitles -> "station.srt")."""
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext in formats:
        return path, ext
    fmt = _format_of_filter(name_filter, formats) or formats[0]
    return f"{path}.{fmt}", fmt
