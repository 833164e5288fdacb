from PySide6.QtCore import Qt

from app.history import HistoryStore
from app.ui.history_panel import HistoryPanel

from .test_store import utterance


def test_panel_lists_filters_selects_and_undoes_a_delete(qtbot, tmp_path):
    store = HistoryStore(tmp_path)
    a = utterance("Where is the station?", "¿Dónde está la estación?")
    b = utterance("Thank you very much.", "Muchas gracias.")
    store.save(a)
    store.save(b)
    panel = HistoryPanel(store)
    qtbot.addWidget(panel)
    assert panel.ids() == [b.id, a.id]
    with qtbot.waitSignal(panel.utterance_selected) as sel:
        panel.list.setCurrentRow(1)
    assert sel.args == [a.id]
    with qtbot.waitSignal(panel.replay_requested) as rep:
        qtbot.keyClick(panel, Qt.Key.Key_Return)
    assert rep.args == [a.id]
    panel.search.setText("gracias")
    qtbot.waitUntil(lambda: panel.ids() == [b.id], timeout=2000)
    panel.search.clear()
    qtbot.waitUntil(lambda: len(panel.ids()) == 2, timeout=2000)
    panel.select(a.id)
    qtbot.keyClick(panel, Qt.Key.Key_Delete)
    assert panel.ids() == [b.id] and panel.notice_button.isVisibleTo(panel) and panel.notice_button.text() == "Undo"
    qtbot.mouseClick(panel.notice_button, Qt.MouseButton.LeftButton)
    assert set(panel.ids()) == {a.id, b.id} and panel.current_id() == a.id


def test_panel_exports_the_selected_entry(qtbot, tmp_path):
    store = HistoryStore(tmp_path / "h")
    u = utterance()
    store.save(u)
    panel = HistoryPanel(store)
    qtbot.addWidget(panel)
    out = panel.export_dialog(u.id, path=str(tmp_path / "mine.vtt"))
    assert out and (tmp_path / "mine.vtt").read_text().startswith("WEBVTT")


def test_panel_on_a_read_only_history_says_so_and_a_delete_is_refused_not_crashing(qtbot, tmp_path):
    store = HistoryStore(tmp_path)
    u = utterance()
    store.save(u)
    store.close()
    ro = HistoryStore(tmp_path, read_only=True)
    panel = HistoryPanel(ro)
    qtbot.addWidget(panel)
    assert panel.notice.isVisibleTo(panel) and "read-only" in panel.notice.text()
    panel.select(u.id)
    qtbot.keyClick(panel, Qt.Key.Key_Delete)
    assert panel.ids() == [u.id] and not panel.notice_button.isVisibleTo(panel)   # no Undo offered
    assert "read-only" in panel.notice.text() and "delete" in panel.notice.text()


# --- item 7: rows, empty search, delete without jumping, Ctrl+Z, one notice at a time ---------

def make_panel(qtbot, tmp_path, *texts):
    from PySide6.QtCore import QSettings

    store = HistoryStore(tmp_path / "h")
    made = []
    for t in texts:
        u = utterance(t, t)
        store.save(u)
        made.append(u)
    panel = HistoryPanel(store, qsettings=QSettings(str(tmp_path / "qs.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(panel)
    panel.show()
    return panel, made


def test_long_rows_are_elided_with_an_ellipsis(qtbot, tmp_path):
    long = "A very long sentence about trains " * 10
    panel, _ = make_panel(qtbot, tmp_path, long)
    first_line = panel.list.item(0).text().split("\n")[0]
    assert first_line.endswith("…") and len(first_line) <= 84
    assert long.strip()[:40] in first_line


def test_an_empty_search_says_no_matches(qtbot, tmp_path):
    panel, _ = make_panel(qtbot, tmp_path, "Thank you very much.")
    panel.search.setText("zebra")
    qtbot.waitUntil(lambda: panel.empty_label.isVisible(), timeout=2000)
    assert "No matches" in panel.empty_label.text() and "zebra" in panel.empty_label.text()
    assert not panel.list.isVisible()
    panel.search.clear()
    qtbot.waitUntil(lambda: panel.list.isVisible(), timeout=2000)
    assert not panel.empty_label.isVisible()


def test_delete_selects_nothing_else_and_ctrl_z_restores(qtbot, tmp_path):
    panel, (a, b, c) = make_panel(qtbot, tmp_path, "One.", "Two.", "Three.")
    with qtbot.waitActive(panel):
        panel.activateWindow()
    panel.list.setFocus()
    panel.select(b.id)
    emitted = []
    panel.utterance_selected.connect(emitted.append)
    qtbot.keyClick(panel.list, Qt.Key.Key_Delete)
    assert b.id not in panel.ids()
    assert emitted == [] and panel.current_id() is None          # no jump to another entry
    qtbot.keyClick(panel.list, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert b.id in panel.ids() and panel.current_id() == b.id
    assert emitted == []


def test_notices_replace_each_other(qtbot, tmp_path):
    panel, (a, b) = make_panel(qtbot, tmp_path, "One.", "Two.")
    panel.delete(a.id)
    assert panel.notice_button.text() == "Undo" and panel.notice_bar.isVisible()
    out = panel.export_dialog(b.id, path=str(tmp_path / "two.srt"))
    assert out
    visible = [w for w in panel.findChildren(type(panel.notice)) if w.isVisible() and w.text()
               and w is not panel.empty_label and w.objectName() != "sectionTitle" and w.text() != "History"]
    assert [w.text() for w in visible] == [panel.notice.text()] and "two.srt" in panel.notice.text()
    assert panel.notice_button.text() == "Show in folder"


# --- item 5: the export dialog ----------------------------------------------------------------

def drive_export_dialog(qtbot, panel, uid, act):
    """Open the real dialog (exec), let `act(dialog)` fill it in and accept it."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QFileDialog

    seen = {}

    def poke():
        dlg = QApplication.activeModalWidget()
        if not isinstance(dlg, QFileDialog):
            QTimer.singleShot(20, poke)
            return
        seen["dialog"] = {"dir": dlg.directory().absolutePath(), "filters": dlg.nameFilters(),
                          "filter": dlg.selectedNameFilter(), "name": dlg.selectedFiles()[0]}
        act(dlg)

    QTimer.singleShot(0, poke)
    seen["result"] = panel.export_dialog(uid)
    return seen


def choose(dlg, name_filter, typed):
    from PySide6.QtWidgets import QComboBox, QLineEdit

    combo = dlg.findChild(QComboBox, "fileTypeCombo")
    i = combo.findText(name_filter)
    combo.setCurrentIndex(i)
    combo.activated.emit(i)
    combo.textActivated.emit(name_filter)      # what a click on the list does
    edit = dlg.findChild(QLineEdit, "fileNameEdit")
    if typed is not None:
        edit.setText(typed)
    dlg.accept()


def test_export_dialog_suggests_adds_extension_and_remembers_folder(qtbot, tmp_path):
    from app.history.export import available_formats
    from app.ui.history_panel import export_filter

    panel, (u,) = make_panel(qtbot, tmp_path, "Where is the station?")
    out = tmp_path / "exports"
    out.mkdir()
    panel.qsettings.setValue("export/last_dir", str(out))
    seen = drive_export_dialog(qtbot, panel, u.id, lambda d: choose(d, export_filter("srt"), "station"))
    d = seen["dialog"]
    assert d["dir"] == str(out)                                   # not the process's working folder
    assert d["filters"] == [export_filter(f) for f in available_formats()]
    assert {"wav", "srt", "vtt", "json"} <= {f.rsplit(".", 1)[1].rstrip(")") for f in d["filters"]}
    assert d["filter"] == export_filter("wav")
    assert d["name"].endswith(".wav") and "Where-is-the-station" in d["name"]
    assert seen["result"] == str(out / "station.srt")
    assert (out / "station.srt").read_text().startswith("1\n")
    # next time: the same folder and type
    seen = drive_export_dialog(qtbot, panel, u.id, lambda d: d.reject())
    assert seen["dialog"]["dir"] == str(out) and seen["dialog"]["filter"] == export_filter("srt")
    assert seen["dialog"]["name"].endswith(".srt") and seen["result"] is None


def test_changing_the_type_renames_the_suggestion(qtbot, tmp_path):
    from app.ui.history_panel import export_filter

    panel, (u,) = make_panel(qtbot, tmp_path, "Hello.")
    panel.qsettings.setValue("export/last_dir", str(tmp_path))
    seen = drive_export_dialog(qtbot, panel, u.id, lambda d: choose(d, export_filter("vtt"), None))
    assert seen["result"].endswith(".vtt") and "Hello" in seen["result"]
    assert open(seen["result"]).read().startswith("WEBVTT")


def test_show_in_folder_opens_the_export_folder(qtbot, tmp_path):
    from PySide6.QtCore import QObject, QUrl, Slot
    from PySide6.QtGui import QDesktopServices

    class Catcher(QObject):
        def __init__(self):
            super().__init__()
            self.urls = []

        @Slot(QUrl)
        def open(self, url):
            self.urls.append(url)

    panel, (u,) = make_panel(qtbot, tmp_path, "Hello.")
    path = panel.export_dialog(u.id, path=str(tmp_path / "x.json"))
    assert path and panel.notice_button.text() == "Show in folder"
    catcher = Catcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")
    try:
        qtbot.mouseClick(panel.notice_button, Qt.MouseButton.LeftButton)
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [x.toLocalFile() for x in catcher.urls] == [str(tmp_path)]


# --- issue 24: export through the window is private, atomic and never through a symlink ------

def test_window_export_refuses_a_symlink_and_says_why(qtbot, tmp_path):
    panel, (u,) = make_panel(qtbot, tmp_path, "Hello.")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "mine.json"
    link.symlink_to(victim)
    assert panel.export_dialog(u.id, path=str(link)) is None
    assert "Export failed" in panel.notice.text() and "symbolic link" in panel.notice.text()
    assert panel.notice.isVisibleTo(panel) and not panel.notice_button.isVisibleTo(panel)
    assert link.is_symlink() and victim.read_text() == "precious"


def test_window_export_on_a_full_disk_says_so_and_leaves_nothing(qtbot, tmp_path, monkeypatch):
    import errno
    import os

    import app.core.files as files

    def full(fd, chunk):
        os.write(fd, bytes(chunk[:1]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    panel, (u,) = make_panel(qtbot, tmp_path, "Hello.")
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(files, "_write_chunk", full)
    assert panel.export_dialog(u.id, path=str(out / "mine.json")) is None
    assert "Export failed" in panel.notice.text() and "No space left on device" in panel.notice.text()
    assert list(out.iterdir()) == []


def test_window_export_is_private_under_umask_000(qtbot, tmp_path):
    import os
    import stat

    panel, (u,) = make_panel(qtbot, tmp_path, "Hello.")
    old = os.umask(0)
    try:
        path = panel.export_dialog(u.id, path=str(tmp_path / "mine.srt"))
    finally:
        os.umask(old)
    assert path and stat.S_IMODE(os.stat(path).st_mode) == 0o600
