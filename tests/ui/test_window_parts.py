"""The window from named parts: the action table drives menus, shortcuts and Help; the
window's size and the history divider survive a restart."""

from PySide6.QtGui import QAction, QKeySequence

from app.ui.actions import ACTIONS, shortcut_rows


def test_every_action_with_a_slot_is_a_window_action_with_its_key(make_window):
    w = make_window()
    for spec in ACTIONS:
        action = getattr(w, f"{spec.name}_action", None)
        if spec.slot is None:
            assert action is None          # a widget handles that key: nothing registered twice
            continue
        assert isinstance(action, QAction)
        assert action.shortcut() == QKeySequence(spec.keys)
    menus = [a.text() for a in w.menuBar().actions()]
    assert menus == ["&File", "&Edit", "&View", "&Tools", "&Help"]
    assert len(shortcut_rows()) == sum(1 for a in ACTIONS if a.keys)


def test_triggering_an_action_runs_the_window_command(make_window):
    w = make_window()
    w.source.setFocus()
    w.focus_phrase_action.trigger()
    assert w.phrase.hasFocus() or w.focusWidget() is w.phrase


def test_size_and_divider_are_restored_after_a_restart(make_window, qtbot, tmp_path):
    path = tmp_path / "restart.ini"
    w = make_window(settings_file=path)
    w.resize(700, 500)
    w.splitter.setSizes([520, 170])
    qtbot.wait(20)
    sizes, size = w.splitter.sizes(), (w.width(), w.height())
    assert size != (1100, 680)                  # not the size a new window starts with
    w.close()                                   # saving happens on close
    again = make_window(settings_file=path)
    assert (again.width(), again.height()) == size
    assert again.splitter.sizes() == sizes


def test_to_ui_runs_a_worker_threads_call_on_the_qt_thread(qtbot, loop):
    import threading

    from app.ui.threads import ui_thread

    to_ui = ui_thread()
    ran_on = []
    worker = threading.Thread(target=lambda: to_ui(lambda x: ran_on.append((threading.get_ident(), x)), 7))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: bool(ran_on), timeout=2000)
    assert ran_on == [(threading.get_ident(), 7)]



def test_the_window_gets_its_pipeline_from_services(make_window, loop):
    from tests.helpers import run

    w = make_window(repair_policy="off")
    made = []
    real = w.services.make_pipeline
    w.services.make_pipeline = lambda *a, **k: made.append(real(*a, **k)) or made[-1]
    u = run(loop, w.translate_now("Hello.", "en", "en"))
    assert u is not None and made == [w.pipeline]
    assert w.pipeline.player is w.player and w.pipeline.repairer.options.policy == "off"
    assert w.settings is w.services.settings      # one Settings object, shared


def test_compose_window_builds_the_parts_outside_the_window(qtbot, loop):
    from app.ui.launch import compose_window

    w = compose_window("local")       # settings and history: the suite's throwaway user folders
    qtbot.addWidget(w)
    try:
        assert w.services.settings.provider == "local" and w.settings is w.services.settings
        assert w.player is not None
    finally:
        w.close()


def test_the_status_bar_labels_stand_apart(make_window, qtbot):
    """"Engine: local engine", "not connected", the audio and the verifier: each word group
    visibly separate, not run together."""
    w = make_window()
    labels = [lb for lb in (w.engine_label, w.connection_label, w.audio_label, w.verifier_label) if lb.isVisible()]
    assert len(labels) == 4
    for a, b in zip(labels, labels[1:], strict=False):
        a_text_end = a.x() + a.contentsMargins().left() + a.fontMetrics().horizontalAdvance(a.text())
        b_text_start = b.x() + b.contentsMargins().left()
        assert b_text_start - a_text_end >= 12, (a.text(), b.text())
