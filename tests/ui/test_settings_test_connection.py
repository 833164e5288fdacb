"""Settings ▸ Test connection: what is typed is tried off the UI thread, the answer names the field."""

import logging
import time

import pytest

from app.core.settings import Settings
from app.engine import LocalEngine
from app.ui.settings_dialog import SettingsDialog
from tests.helpers import SessionSecrets
from tests.helpers.servers import free_port, http_answer

KEY = "sk-typed-0123456789abcdefSECRET"


@pytest.fixture(scope="module")
def engine():
    eng = LocalEngine(default_voice="verse", translator=None).start_in_thread()
    yield eng
    eng.stop_thread()


def dialog(qtbot, **settings):
    dlg = SettingsDialog(Settings(**settings), SessionSecrets())
    qtbot.addWidget(dlg)
    dlg.show()
    return dlg


def run_test(qtbot, dlg, timeout_ms=20000):
    dlg.test_button.click()
    qtbot.waitUntil(lambda: dlg.last_test is not None and dlg.test_button.isEnabled(), timeout=timeout_ms)
    return dlg.last_test


def test_the_typed_key_is_tried_and_a_wrong_one_is_called_a_bad_key(qtbot, engine, caplog):
    caplog.set_level(logging.INFO)
    dlg = dialog(qtbot, provider="openai")
    dlg.endpoint.setText(engine.url)
    dlg.key.setText(KEY)
    dlg.test_button.click()
    # the button does not wait for the network: the dialog stays responsive
    assert not dlg.test_button.isEnabled() and dlg.test_result.property("kind") == "busy"
    qtbot.waitUntil(lambda: dlg.last_test is not None, timeout=20000)
    r = dlg.last_test
    assert r.kind == "auth"
    assert dlg.test_result.isVisible() and "refused the API key" in dlg.test_result.text()
    assert dlg.test_result.property("kind") == "fail"
    assert KEY not in dlg.test_result.text() and KEY not in caplog.text
    assert dlg.test_button.isEnabled() and dlg.test_button.text() == "Test connection"
    # nothing is saved by testing
    assert dlg.secrets.get("openai") is None

    dlg.key.setText(engine.api_key)
    assert not dlg.test_result.isVisible()        # a result for other settings is not left standing
    r = run_test(qtbot, dlg)
    assert r.ok, r.message
    assert dlg.test_result.text().startswith("✓ Connected")
    assert dlg.test_result.property("kind") == "ok"


def test_an_unreachable_endpoint_and_a_missing_deployment_are_told_apart(qtbot):
    dlg = dialog(qtbot, provider="azure", azure_style="legacy")
    dlg.key.setText(KEY)
    dlg.model.setText("my-realtime")
    port = free_port()
    dlg.endpoint.setText(f"http://127.0.0.1:{port}")
    r = run_test(qtbot, dlg)
    assert r.kind == "unreachable" and f"127.0.0.1:{port}" in dlg.test_result.text()
    with http_answer(404, {"error": {"code": "DeploymentNotFound", "message": "no such deployment"}}) as p:
        dlg.endpoint.setText(f"http://127.0.0.1:{p}")
        r = run_test(qtbot, dlg)
    assert r.kind == "not_found"
    assert "“my-realtime”" in dlg.test_result.text() and "API version" in dlg.test_result.text()


def test_an_endpoint_that_is_not_a_url_is_told_without_connecting(qtbot):
    dlg = dialog(qtbot, provider="azure")
    dlg.endpoint.setText("my resource")
    t0 = time.monotonic()
    dlg.test_button.click()
    assert dlg.last_test is not None and dlg.last_test.kind == "config"
    assert time.monotonic() - t0 < 1
    assert "my resource" in dlg.test_result.text()


def test_appearance_is_a_setting(qtbot):
    dlg = dialog(qtbot, appearance="dark")
    assert dlg.appearance.currentData() == "dark"
    dlg.appearance.setCurrentIndex(dlg.appearance.findData("light"))
    assert dlg.result_settings().appearance == "light"
    assert Settings.from_dict({"appearance": "purple"}).appearance == "system"


@pytest.mark.parametrize("provider", ["azure", "local"])
def test_an_endpoint_with_a_password_or_key_is_not_saved(qtbot, provider):
    dlg = dialog(qtbot, provider=provider)
    dlg.endpoint.setText("https://alice:hunter2secret@x.openai.azure.com/openai?api-key=SECRET9")
    dlg.accept()
    assert dlg.result() != dlg.DialogCode.Accepted and dlg.problem.isVisibleTo(dlg)
    assert "API key field" in dlg.problem.text() and "hunter2secret" not in dlg.problem.text()
