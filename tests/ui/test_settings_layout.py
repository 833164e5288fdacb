"""Settings reads as one form: fields line up across groups, a test result is never clipped,
and typing the key does not make the fields below it jump (issue 24, newcomer under Xvfb)."""

from app.core.settings import Settings
from tests.helpers import SessionSecrets


def dialog(qtbot):
    from app.ui.settings_dialog import SettingsDialog

    dlg = SettingsDialog(Settings(provider="azure", endpoint="https://x.openai.azure.com", model="dep"),
                         SessionSecrets())
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.advanced_toggle.setChecked(True)
    qtbot.wait(20)
    return dlg


def x_in_dialog(dlg, w):
    return w.mapTo(dlg, w.rect().topLeft()).x()


def test_fields_of_every_group_start_at_one_x(qtbot):
    dlg = dialog(qtbot)
    xs = {x_in_dialog(dlg, w) for w in (dlg.provider, dlg.endpoint, dlg.key, dlg.voice, dlg.flavor,
                                         dlg.verifier_model)}
    assert len(xs) == 1, xs


def test_a_long_test_result_is_shown_whole(qtbot):
    dlg = dialog(qtbot)
    dlg._set_result("fail", "✗ Could not reach x.openai.azure.com: no such host name. Check the endpoint "
                            "address and the network, a firewall or a proxy between here and there.")
    qtbot.wait(20)
    r = dlg.test_result
    assert r.height() >= r.heightForWidth(r.width()) > r.fontMetrics().lineSpacing()


def test_typing_the_key_does_not_move_the_fields_below(qtbot):
    dlg = dialog(qtbot)
    before = dlg.endpoint.mapTo(dlg, dlg.endpoint.rect().topLeft()).y()
    assert "No API key" in dlg.provider_note.text()
    dlg.key.setText("sk-test-123456789")
    qtbot.wait(20)
    assert dlg.endpoint.mapTo(dlg, dlg.endpoint.rect().topLeft()).y() == before
    assert "stored when you save" in dlg.provider_note.text()
