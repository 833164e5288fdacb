"""First use through the real window: honesty without a translator, focus and keys, settings
and errors, history drafts, and a verifier model changed in Settings."""


import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication

from app.core.settings import Settings
from app.ui.actions import shortcut_rows
from app.ui.settings_dialog import SettingsDialog
from tests.helpers import SessionSecrets, run, until


def settings_like(w, **changes):
    s = Settings.from_dict(w.settings.to_dict())
    for k, v in changes.items():
        setattr(s, k, v)
    return s


def when_dialog(cls, act, attempts=200):
    """Run `act(dialog)` once a modal `cls` is open (exec() blocks the test until then)."""
    def poke(n=attempts):
        d = QApplication.activeModalWidget()
        if isinstance(d, cls):
            act(d)
        elif n:
            QTimer.singleShot(20, lambda: poke(n - 1))
    QTimer.singleShot(0, poke)


# --- 3. honest without a translator -------------------------------------------------------------

def test_before_the_first_request_the_window_says_it_will_only_read_back(make_window, qtbot, loop):
    w = make_window()
    w.first_run_hint.dismiss()        # the hint says it first (see the test below)
    w.source.set_code("es")
    w.target.set_code("fr")
    assert w.notice.isVisible() and w.task is None                 # before anything is sent
    text = w.notice.text()
    assert "read your text back" in text and "Spanish" in text and "French" in text
    assert "Settings" in text and "offline translator" in text
    assert w.notice_settings.isVisible()
    seen = []
    when_dialog(SettingsDialog, lambda d: (seen.append(d), d.reject()))
    qtbot.mouseClick(w.notice_settings, Qt.MouseButton.LeftButton)  # the way forward opens Settings
    assert seen
    w.target.set_code("es")                                         # same language: nothing to warn
    assert not w.notice.isVisible()


def test_the_first_run_hint_and_the_read_back_notice_do_not_say_it_twice(make_window, qtbot, loop):
    w = make_window()
    w.source.set_code("es")
    w.target.set_code("fr")
    assert w.first_run_hint.isVisible() and w.first_run_hint.settings_button.isVisible()
    # one "Open Settings…" and one explanation while the hint is up
    assert not w.notice.isVisible() and not w.notice_settings.isVisible()
    w.apply_settings(settings_like(w, provider="openai"))       # a real problem still shows, once
    assert w.notice.isVisible() and "no API key" in w.notice.text() and not w.notice_settings.isVisible()
    w.apply_settings(settings_like(w, provider="local"))
    w.first_run_hint.dismiss()
    assert w.notice.isVisible() and "read your text back" in w.notice.text() and w.notice_settings.isVisible()


def test_a_read_back_is_labelled_as_such_in_the_window_and_history(make_window, qtbot, loop):
    w = make_window()
    w.source.set_code("auto")
    w.target.set_code("fr")

    async def flow():
        return await w.translate_now("¿Dónde está la estación de tren?", "auto", "fr")

    u = run(loop, flow())
    assert u.meta["read_back"] and u.meta["requested_target"] == "fr"
    assert w.title.text() == "<b>Read back (not translated)</b>"
    row = w.history_panel.list.item(0).text()
    assert "read back (es)" in row and "→fr" not in row
    stored = w.services.store().get(u.id)
    assert (stored.source_language, stored.target_language) == ("es", "es")


def test_the_answer_on_screen_is_the_selected_history_row(make_window, qtbot, loop):
    """Replay, Export and Delete act on the answer just heard, without opening it again."""
    w = make_window()
    u = run(loop, w.translate_now("Where is the station?", "en", "en"))
    run(loop, until(lambda: w.history_panel.current_id() == u.id, 10))
    panel = w.history_panel
    assert panel.replay_button.isEnabled() and panel.export_button.isEnabled()
    assert w.utterance is u                                       # selecting it did not reopen it


# --- 4. focus and keyboard -------------------------------------------------------------------

def test_focus_starts_in_the_phrase_box(make_window, qtbot, loop):
    w = make_window()
    with qtbot.waitActive(w):
        w.activateWindow()
    before = w.source.code()
    qtbot.keyClicks(QApplication.focusWidget(), "Hello")
    assert QApplication.focusWidget() is w.phrase
    assert w.phrase.toPlainText() == "Hello" and w.source.code() == before


def test_space_plays_and_pauses_outside_text_boxes_only(make_window, qtbot, loop):
    w = make_window()
    run(loop, w.translate_now("One two three four five six seven eight nine ten.", "en", "en"))
    with qtbot.waitActive(w):
        w.activateWindow()
    w.player.stop()
    w.transcript.setFocus()
    qtbot.keyClick(w.transcript, Qt.Key.Key_Space)
    assert w.player.is_active
    qtbot.keyClick(w.transcript, Qt.Key.Key_Space)
    assert w.player.state == "paused"
    w.phrase.setFocus()
    qtbot.keyClick(w.phrase, Qt.Key.Key_Space)                     # typing a space is just typing
    assert w.player.state == "paused" and w.phrase.toPlainText().endswith(" ")
    assert "Space" in w.player_bar.play_button.toolTip() and "Ctrl+P" in w.player_bar.play_button.toolTip()


def _norm(key):
    return QKeySequence(key).toString(QKeySequence.SequenceFormat.PortableText)


def test_help_menu_lists_every_real_shortcut(make_window, qtbot, loop):
    w = make_window()
    menus = {a.text().replace("&", ""): a.menu() for a in w.menuBar().actions()}
    assert "Keyboard shortcuts" in [a.text().replace("&", "") for a in menus["Help"].actions()]
    dlg = w.shortcuts_dialog()
    from PySide6.QtWidgets import QTableWidget

    table = dlg.findChild(QTableWidget, "shortcuts")
    listed = {_norm(table.item(i, 0).text()) for i in range(table.rowCount())}
    registered = {_norm(s.key().toString()) for s in w.findChildren(QShortcut)}
    registered |= {_norm(a.shortcut().toString()) for a in w.findChildren(type(w.settings_action))
                   if not a.shortcut().isEmpty()}
    assert registered and registered <= listed, registered - listed
    assert {_norm(k) for k, _ in shortcut_rows()} == listed


def test_swap_swaps_the_texts_too(make_window, qtbot, loop, tmp_path):
    from tests.helpers import utterance

    w = make_window()
    u = utterance("Where is the station?", "¿Dónde está la estación?")
    w.services.store().save(u)
    w.history_panel.refresh()
    w.source.set_code("es")
    w.target.set_code("en")
    w.history_panel.select(u.id)
    assert w.phrase.toPlainText() == "¿Dónde está la estación?"
    qtbot.mouseClick(w.swap, Qt.MouseButton.LeftButton)
    assert (w.source.code(), w.target.code()) == ("en", "es")
    assert w.phrase.toPlainText() == "Where is the station?"
    assert w.transcript.text == "¿Dónde está la estación?" and "not spoken" in w.title.text()
    assert not w.player_bar.play_button.isEnabled()


def test_opening_an_entry_sets_its_languages_but_never_over_a_draft(make_window, qtbot):
    from tests.helpers import utterance

    w = make_window()
    w.source.set_code("fr")
    w.target.set_code("de")
    u = utterance("Where is the station?", "¿Dónde está la estación?")      # es -> en
    w.services.store().save(u)
    w.history_panel.refresh()
    w.history_panel.select(u.id)
    assert w.phrase.toPlainText() == "¿Dónde está la estación?"
    assert (w.source.code(), w.target.code()) == ("es", "en")
    other = utterance("Good morning.", "Guten Morgen.")
    other.source_language, other.target_language = "de", "en"
    w.services.store().save(other)
    w.history_panel.refresh()
    w.phrase.setPlainText("Bonjour à tous")                                  # the user's own draft
    w.source.set_code("fr")
    w.history_panel.select(other.id)
    assert w.phrase.toPlainText() == "Bonjour à tous" and w.source.code() == "fr"
    assert w.transcript.text == "Good morning."


# --- 6. settings and errors ---------------------------------------------------------------------

def test_settings_refuse_a_bad_endpoint_naming_it(qtbot):
    dlg = SettingsDialog(Settings(provider="azure"), SessionSecrets())
    qtbot.addWidget(dlg)
    dlg.endpoint.setText("foo")
    dlg.accept()
    assert dlg.result() == 0 and dlg.problem.isVisibleTo(dlg) and "“foo”" in dlg.problem.text()
    dlg.endpoint.setText("https://myres.openai.azure.com")
    assert not dlg.problem.isVisibleTo(dlg)
    dlg.accept()
    assert dlg.result() == 1 and dlg.result_settings().endpoint == "https://myres.openai.azure.com"


def test_settings_fields_follow_the_provider_and_technical_ones_are_advanced(qtbot):
    dlg = SettingsDialog(Settings(provider="local"), SessionSecrets())
    qtbot.addWidget(dlg)
    dlg.show()
    def enabled():
        return {n for n in ("endpoint", "model", "api_version", "azure_style", "key")
                           if getattr(dlg, n).isEnabled()}
    assert enabled() == set()
    dlg.provider.setCurrentIndex(dlg.provider.findData("openai"))
    assert enabled() == {"endpoint", "model", "key"}
    assert "No API key" in dlg.provider_note.text()                 # warned right away
    dlg.provider.setCurrentIndex(dlg.provider.findData("azure"))
    assert enabled() == {"endpoint", "model", "api_version", "azure_style", "key"}
    # GA/Beta, pcm16, the model spec: folded under Advanced, in plain words
    assert not dlg.advanced.isVisible()
    for w in (dlg.flavor, dlg.audio_format, dlg.verifier_model):
        assert dlg.advanced.isAncestorOf(w)
    labels = [dlg.audio_format.itemText(i) for i in range(dlg.audio_format.count())]
    assert not any("pcm16" in t or "g711" in t for t in labels)
    assert not any(dlg.flavor.itemText(i) in ("GA", "Beta (realtime=v1)") for i in range(dlg.flavor.count()))
    dlg.advanced_toggle.click()
    assert dlg.advanced.isVisible()
    dlg.audio_format.setCurrentIndex(dlg.audio_format.findData("g711_ulaw"))
    assert dlg.result_settings().audio_format == "g711_ulaw"


def test_openai_without_a_key_warns_in_the_window_at_once_and_clears(make_window, qtbot, loop):
    w = make_window()
    w.first_run_hint.dismiss()
    w.source.set_code("en")
    w.target.set_code("en")
    assert not w.notice.isVisible()
    w.apply_settings(settings_like(w, provider="openai"))
    assert w.notice.isVisible() and "no API key" in w.notice.text() and w.notice_settings.isVisible()
    w.apply_settings(settings_like(w, provider="local"))
    assert not w.notice.isVisible()


def test_connection_errors_name_the_endpoint_and_go_when_the_provider_changes(make_window, qtbot, loop):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()                                   # nothing listens there: refused at once
    secrets = SessionSecrets()
    secrets.set("azure", "test-key")
    endpoint = f"https://127.0.0.1:{port}"
    w = make_window(secrets=secrets, provider="azure", endpoint=endpoint, model="dep")
    w.phrase.setPlainText("Hello.")
    w.translate_clicked()
    run(loop, until(lambda: w.task.done(), timeout=60))
    assert w.error.isVisible() and endpoint.removeprefix("https://") in w.error.text()
    assert w.request.phase == "failed" and w.translate_button.text() == "Translate"
    w.apply_settings(settings_like(w, provider="local"))
    assert not w.error.isVisible()


def test_an_endpoint_saved_before_validation_is_named_before_connecting(make_window, qtbot, loop):
    secrets = SessionSecrets()
    secrets.set("openai", "test-key")
    w = make_window(secrets=secrets, provider="openai", endpoint="foo")
    run(loop, w.translate_now("Hello.", "en", "fr"))
    assert "“foo”" in w.error.text() and "Settings" in w.error.text()


def test_long_status_messages_are_elided_before_the_permanent_labels(make_window, qtbot, loop):
    w = make_window()
    w.resize(900, 500)
    qtbot.wait(50)
    message = "A very long explanation of something that went wrong " * 8
    w.show_status(message)
    shown = w.statusBar().currentMessage()
    assert shown.endswith("…") and len(shown) < len(message)
    right = min(x.geometry().left() for x in (w.engine_label, w.connection_label, w.audio_label,
                                                w.verifier_label) if x.isVisible())
    assert 100 < w.statusBar().fontMetrics().horizontalAdvance(shown) < right
    assert w.statusBar().toolTip() == message


# --- 7. history keeps an unsent draft ---------------------------------------------------------

def test_selecting_history_keeps_an_unsent_draft(make_window, qtbot, loop):
    from tests.helpers import utterance

    w = make_window()
    a = utterance("Thanks.", "Gracias.")
    w.services.store().save(a)
    w.history_panel.refresh()
    w.phrase.setPlainText("my unsent draft")
    w.history_panel.select(a.id)
    assert w.utterance.id == a.id and w.transcript.text == "Thanks."
    assert w.phrase.toPlainText() == "my unsent draft"
    w.phrase.clear()
    w.history_panel.list.setCurrentRow(-1)
    w.history_panel.select(a.id)
    assert w.phrase.toPlainText() == "Gracias."               # an empty box takes the entry's text


# --- Settings: a new verifier model loads at once --------------------------------------------

@pytest.mark.slow
def test_changing_the_verifier_model_reloads_it_in_the_background(make_window, qtbot, loop):
    from app.verify.models import resolve_model

    folder = str(resolve_model("bundled:whisper-base"))     # the same weights, as a folder
    w = make_window()
    qtbot.waitUntil(lambda: w.verifier_label.text() == "Verifier: ready", timeout=60000)
    old = w.services.verifier()

    def fill(d):
        d.advanced_toggle.click()
        d.verifier_model.setText(folder)
        d.accept()

    when_dialog(SettingsDialog, fill)
    w.open_settings()
    assert w.settings.verifier_model == folder
    assert w.verifier_label.text() == "Verifier: loading…"
    assert "Verifier model changed" in w.statusBar().currentMessage()
    qtbot.waitUntil(lambda: w.verifier_label.text() == "Verifier: ready", timeout=60000)
    new = w.services.verifier()
    assert new is not old and new.model == folder
    assert "new verifier model is ready" in w.statusBar().currentMessage()

    async def flow():                                      # and answers are checked with it
        return await w.translate_now("Good morning, everyone.", "en", "en")

    u = run(loop, flow())
    assert u.report is not None and w.pipeline.verifier is new
