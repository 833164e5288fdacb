"""The first-run hint: shown once, on a first launch with no key; says what works offline."""

from PySide6.QtCore import QSettings

from app.ui.first_run import FirstRunHint


def settings(tmp_path):
    return QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)


def hint(qtbot):
    h = FirstRunHint()
    qtbot.addWidget(h)
    return h


def test_shown_on_the_first_launch_only(qtbot, tmp_path):
    h = hint(qtbot)
    assert h.show_if_first_run(settings(tmp_path), has_key=False)
    assert h.isVisible()
    text = h.label.text()
    for words in ("offline", "reads your phrase back", "checks that the audio says every word",
                  "repairs", "Settings ▸ Translation service", "Test connection"):
        assert words in text
    # next launch: a new hint, the same settings file
    again = hint(qtbot)
    assert not again.show_if_first_run(settings(tmp_path), has_key=False)
    assert not again.isVisible()


def test_not_shown_when_a_key_is_stored(qtbot, tmp_path):
    h = hint(qtbot)
    assert not h.show_if_first_run(settings(tmp_path), has_key=True)
    assert not h.isVisible()
    # and the first launch without a key still gets it later
    assert hint(qtbot).show_if_first_run(settings(tmp_path), has_key=False)


def test_says_whether_it_translates_offline(qtbot, tmp_path):
    h = hint(qtbot)
    h.show_if_first_run(settings(tmp_path), has_key=False, translates=True)
    assert "translates between the languages" in h.label.text()
    assert "does not translate" not in h.label.text()


def test_dismiss_and_open_settings(qtbot, tmp_path):
    h = hint(qtbot)
    h.show_if_first_run(settings(tmp_path), has_key=False)
    with qtbot.waitSignal(h.settings_requested, timeout=1000):
        h.settings_button.click()
    with qtbot.waitSignal(h.dismissed, timeout=1000):
        h.close_button.click()
    assert not h.isVisible()
