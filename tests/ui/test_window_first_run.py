"""The window's first launch: the hint once, then never again; a key means no hint; the
Appearance setting applies at once."""

from PySide6.QtCore import QSettings
from PySide6.QtGui import QPalette

from app.core.settings import Settings
from app.pipeline.services import Services
from app.ui import theme
from app.ui.main_window import MainWindow
from tests.helpers import SessionSecrets


def window(qtbot, path, secrets=None):
    qs = QSettings(str(path), QSettings.Format.IniFormat)
    w = MainWindow(services=Services(Settings(provider="local"), secrets or SessionSecrets()), qsettings=qs)
    qtbot.addWidget(w)
    w.show()
    return w


def test_first_launch_without_a_key_shows_the_hint_once(qtbot, tmp_path, loop):
    first = window(qtbot, tmp_path / "s.ini")
    assert first.first_run_hint.isVisible()
    assert "Test connection" in first.first_run_hint.label.text()
    # it sits above the phrase box, in the window itself
    assert first.first_run_hint.geometry().bottom() <= first.phrase.mapTo(
        first.first_run_hint.parentWidget(), first.phrase.rect().topLeft()).y()
    first.close()
    again = window(qtbot, tmp_path / "s.ini")
    assert not again.first_run_hint.isVisible()
    again.close()


def test_no_hint_when_a_key_is_stored_and_it_goes_when_one_is_added(qtbot, tmp_path, loop):
    secrets = SessionSecrets()
    secrets.set("openai", "sk-test-key-0123456789")
    w = window(qtbot, tmp_path / "a.ini", secrets)
    assert not w.first_run_hint.isVisible()
    w.close()
    other = SessionSecrets()
    w = window(qtbot, tmp_path / "b.ini", other)
    assert w.first_run_hint.isVisible()
    other.set("openai", "sk-test-key-0123456789")
    w.apply_settings(Settings(provider="local"))
    assert not w.first_run_hint.isVisible()
    w.close()


def test_choosing_dark_in_settings_turns_the_window_dark(qtbot, tmp_path, loop, app_state):
    w = window(qtbot, tmp_path / "s.ini")
    w.apply_settings(Settings(provider="local", appearance="dark"))
    assert theme.colors() is theme.DARK
    assert w.transcript.viewport().palette().color(QPalette.ColorRole.Base).name() == theme.DARK.base
    assert theme.DARK.error_background in w.styleSheet()
    w.apply_settings(Settings(provider="local", appearance="light"))
    assert theme.colors() is theme.LIGHT
    w.close()
