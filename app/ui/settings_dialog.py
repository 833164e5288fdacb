"""Settings: provider, endpoint, model, voice, repair, API key; technical choices under Advanced.

The key goes to the OS keyring (app.core.secrets); when there is no keyring the dialog
says plainly that the key lasts for this session only. A bad endpoint is refused with a
message naming it; fields that do not apply to the chosen provider are disabled.
**Test connection** opens one session with what is typed (not yet saved) on a worker
thread (app.realtime.probe) and says which field is wrong: key, endpoint, deployment,
API version, or that nothing answered in time.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from app.core.secrets import SecretStore, mask
from app.core.settings import AUDIO_FORMATS, Settings, credentials_in_endpoint, endpoint_problem
from app.realtime.probe import ProbeResult, start_probe
from app.ui import theme

VOICES = ["alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar"]
AUDIO_FORMAT_LABEL = {"pcm16": "Best quality (16-bit, 24 kHz)",
                      "g711_ulaw": "Telephone quality, μ-law (8 kHz)",
                      "g711_alaw": "Telephone quality, A-law (8 kHz)"}
PROTOCOL_LABEL = [("Automatic", "auto"), ("Current Realtime API", "ga"), ("Older beta Realtime API", "beta")]
# which provider each connection field belongs to ("auto" may end up on any of them)
FIELD_PROVIDERS = {"endpoint": {"auto", "openai", "azure"}, "model": {"auto", "openai", "azure"},
                   "api_version": {"auto", "azure"}, "azure_style": {"auto", "azure"},
                   "key": {"auto", "openai", "azure"}}
APPEARANCE_LABEL = [("Follow the system", "system"), ("Light", "light"), ("Dark", "dark")]
TEST_TIMEOUT_S = 10.0
POLL_MS = 50


class _TypedKey:
    """The stored keys, with the one typed in the dialog (not saved yet) in front."""

    def __init__(self, store: SecretStore, provider: str, typed: str) -> None:
        self.store, self.provider, self.typed = store, provider, typed.strip()

    def get(self, provider: str) -> str | None:
        if provider == self.provider and self.typed:
            return self.typed
        return self.store.get(provider)


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, secrets: SecretStore, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setStyleSheet(theme.STYLE_SHEET)
        self.setMinimumWidth(620)     # room for the notes below a field to wrap onto whole lines
        self.secrets = secrets
        self._base = Settings.from_dict(settings.to_dict())
        lay = QVBoxLayout(self)
        lay.addWidget(self._service_group(settings))
        self._probe = None
        self.last_test: ProbeResult | None = None
        self._probe_timer = QTimer(self)
        self._probe_timer.setInterval(POLL_MS)
        self._probe_timer.timeout.connect(self._probe_poll)
        lay.addWidget(self._speech_group(settings))
        lay.addWidget(self._window_group(settings))
        lay.addWidget(self._repair_group(settings))
        self._advanced_section(settings, lay)
        self._buttons(lay)
        self._connect_fields()
        self._name_controls()
        self._align_label_columns()
        self._provider_changed()

    # --- building the dialog, one group at a time ---------------------------------------------
    @staticmethod
    def _combo(parent, items, current) -> QComboBox:
        combo = QComboBox(parent)
        for label, value in items:
            combo.addItem(label, value)
        combo.setCurrentIndex(max(0, combo.findData(current)))
        return combo

    def _service_group(self, settings: Settings) -> QGroupBox:
        conn = QGroupBox("Translation service", self)
        form = QFormLayout(conn)
        self.provider = self._combo(self, [("Automatic (OpenAI/Azure when a key is set, else local)", "auto"),
                                           ("Local engine (offline)", "local"), ("OpenAI", "openai"),
                                           ("Azure OpenAI", "azure")], settings.provider)
        self.endpoint = QLineEdit(settings.endpoint, self)
        self.endpoint.setPlaceholderText("https://<resource>.openai.azure.com (Azure) or a custom wss:// URL")
        self.model = QLineEdit(settings.model, self)
        self.model.setPlaceholderText("gpt-realtime (OpenAI) or your deployment name (Azure)")
        self.api_version = QLineEdit(settings.api_version, self)
        self.azure_style = self._combo(self, [("v1 endpoint (/openai/v1)", "v1"),
                                              ("Legacy (/openai/realtime?api-version=…)", "legacy")],
                                       settings.azure_style)
        self.key = QLineEdit(self)
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_status = QLabel(self)
        self.key_status.setWordWrap(True)
        self.provider_note = QLabel(self)
        self.provider_note.setWordWrap(True)
        self.provider_note.setObjectName("providerNote")
        form.addRow("Provider", self.provider)
        form.addRow("", self.provider_note)
        form.addRow("Endpoint", self.endpoint)
        form.addRow("Model / deployment", self.model)
        form.addRow("Azure API version", self.api_version)
        form.addRow("Azure style", self.azure_style)
        form.addRow("API key", self.key)
        form.addRow("", self.key_status)
        self._test_row(form)
        return conn

    def _test_row(self, form: QFormLayout) -> None:
        self.test_button = QPushButton("Test connection", self)
        self.test_button.setToolTip("Open one session with the settings above (nothing is saved)")
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QLabel(self)
        self.test_result.setObjectName("testResult")
        self.test_result.setWordWrap(True)
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.test_result.hide()
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addStretch(1)
        form.addRow("", test_row)
        form.addRow("", self.test_result)

    def _speech_group(self, settings: Settings) -> QGroupBox:
        speech = QGroupBox("Speech", self)
        form = QFormLayout(speech)
        self.voice = QComboBox(self)
        self.voice.addItems(VOICES)
        self.voice.setCurrentText(settings.voice)
        form.addRow("Voice", self.voice)
        return speech

    def _window_group(self, settings: Settings) -> QGroupBox:
        window = QGroupBox("Window", self)
        form = QFormLayout(window)
        self.appearance = self._combo(self, APPEARANCE_LABEL, settings.appearance)
        form.addRow("Appearance", self.appearance)
        return window

    def _repair_group(self, settings: Settings) -> QGroupBox:
        repair = QGroupBox("When the audio does not match", self)
        form = QFormLayout(repair)
        self.repair_policy = self._combo(self, [("Repair automatically", "automatic"), ("Ask me", "ask"),
                                                ("Only flag it", "off")], settings.repair_policy)
        self.repair_attempts = QSpinBox(self)
        self.repair_attempts.setRange(1, 5)
        self.repair_attempts.setValue(max(1, settings.repair_attempts))
        self.strict = QCheckBox("Strict mode: take only text from the model and synthesize that exact text", self)
        self.strict.setChecked(settings.strict_mode)
        form.addRow("Repair", self.repair_policy)
        form.addRow("Attempts", self.repair_attempts)
        form.addRow(self.strict)
        return repair

    def _advanced_section(self, settings: Settings, lay: QVBoxLayout) -> None:
        # technical choices most people never need: folded away, in plain words
        self.advanced_toggle = QPushButton("Show advanced settings ▸", self)
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setFlat(True)
        self.advanced_toggle.toggled.connect(self._show_advanced)
        lay.addWidget(self.advanced_toggle)
        self.advanced = QGroupBox("Advanced", self)
        form = QFormLayout(self.advanced)
        self.flavor = self._combo(self, PROTOCOL_LABEL, settings.flavor)
        self.flavor.setToolTip("Which version of the Realtime protocol to speak (GA or beta); "
                               "Automatic picks the right one for the provider.")
        self.audio_format = self._combo(self, [(AUDIO_FORMAT_LABEL.get(fmt, fmt), fmt) for fmt in AUDIO_FORMATS],
                                        settings.audio_format)
        self.audio_format.setToolTip("The audio encoding asked of the service (pcm16, g711_ulaw, g711_alaw)")
        self.verifier_model = QLineEdit(settings.verifier_model, self)
        self.verifier_model.setToolTip("bundled:whisper-base (built in), a local CTranslate2 Whisper model "
                                       "folder, or an https URL to download one from")
        form.addRow("Protocol version", self.flavor)
        form.addRow("Audio sent by the service", self.audio_format)
        form.addRow("Speech model that checks the audio", self.verifier_model)
        lay.addWidget(self.advanced)
        self.advanced.setVisible(False)

    def _align_label_columns(self) -> None:
        """One label column for every group, so the fields of all groups start at one x."""
        labels = []
        for form in self.findChildren(QFormLayout):
            for row in range(form.rowCount()):
                item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
                if item is not None and isinstance(item.widget(), QLabel):
                    labels.append(item.widget())
        width = max((label.sizeHint().width() for label in labels), default=0)
        for label in labels:
            label.setMinimumWidth(width)

    def _buttons(self, lay: QVBoxLayout) -> None:
        self.problem = QLabel(self)
        self.problem.setObjectName("error")
        self.problem.setWordWrap(True)
        self.problem.hide()
        lay.addWidget(self.problem)
        for note in (self.provider_note, self.key_status):
            note.setMinimumHeight(note.fontMetrics().lineSpacing() * 2 + 4)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        lay.addWidget(buttons)

    def _connect_fields(self) -> None:
        self.provider.currentIndexChanged.connect(self._provider_changed)
        self.key.textChanged.connect(lambda _t: self._provider_changed())
        self.endpoint.textChanged.connect(lambda _t: self.problem.hide())
        for edit in (self.endpoint, self.model, self.api_version, self.key):
            edit.textChanged.connect(self._forget_test)
        for combo in (self.provider, self.azure_style, self.flavor):
            combo.currentIndexChanged.connect(self._forget_test)

    def _name_controls(self) -> None:
        """Names and descriptions screen readers announce (labels in a form are not enough
        for every reader, and some controls have no label at all)."""
        for w, name, what in (
            (self.provider, "Provider", "Which service translates: the local engine, OpenAI or Azure OpenAI"),
            (self.endpoint, "Endpoint", "Azure resource address, or a custom Realtime URL"),
            (self.model, "Model or deployment", "The OpenAI model, or the Azure deployment name"),
            (self.api_version, "Azure API version", "Used by the legacy Azure style only"),
            (self.azure_style, "Azure style", "The v1 endpoint or the legacy one"),
            (self.key, "API key", "Stored in the system keyring, never shown"),
            (self.test_button, "Test connection", "Connect once with these settings and report the result"),
            (self.test_result, "Test connection result", ""),
            (self.voice, "Voice", "The voice that speaks the translation"),
            (self.appearance, "Appearance", "Follow the system's light or dark scheme, or choose one"),
            (self.repair_policy, "When the audio does not match", "Repair automatically, ask, or only flag"),
            (self.repair_attempts, "Repair attempts", "How many times to re-voice a mismatch"),
            (self.strict, "Strict mode", "Take only text from the model and synthesize exactly that text"),
            (self.advanced_toggle, "Show advanced settings", ""),
            (self.flavor, "Protocol version", self.flavor.toolTip()),
            (self.audio_format, "Audio sent by the service", self.audio_format.toolTip()),
            (self.verifier_model, "Speech model that checks the audio", self.verifier_model.toolTip()),
        ):
            w.setAccessibleName(name)
            if what:
                w.setAccessibleDescription(what)
        for button in self.buttons.buttons():
            button.setAccessibleName(button.text().replace("&", ""))

    # --- test connection ---------------------------------------------------------------------
    def test_connection(self) -> None:
        """Connect with what is typed, off the UI thread; the result shows below the button."""
        if self._probe is not None:
            return
        problem = self.validation_problem()
        if problem:
            self._show_test(ProbeResult("config", f"✗ {problem}"))
            return
        from app.pipeline.services import PROVIDER_LABEL, Services

        settings = self.result_settings()
        services = Services(settings, _TypedKey(self.secrets, self._key_provider(), self.key.text()))
        self.test_button.setEnabled(False)
        self.test_button.setText("Testing…")
        self._set_result("busy", f"Connecting to {PROVIDER_LABEL[services.provider()]}…")
        self._probe = start_probe(services.provider_config, TEST_TIMEOUT_S, cleanup=services.close)
        self._probe_timer.start()

    def _probe_poll(self) -> None:
        # the probe's thread only fills a Future; it never touches a widget
        if self._probe is None or not self._probe.done():
            return
        result = self._probe.result()
        self._probe = None
        self._probe_timer.stop()
        self.test_button.setEnabled(True)
        self.test_button.setText("Test connection")
        self._show_test(result)

    def _show_test(self, result: ProbeResult) -> None:
        self.last_test = result
        self._set_result("ok" if result.ok else "fail", result.message)

    def _set_result(self, kind: str, text: str) -> None:
        self.test_result.setProperty("kind", kind)
        self.test_result.setText(text)
        self.test_result.setAccessibleDescription(text)
        self.test_result.style().unpolish(self.test_result)
        self.test_result.style().polish(self.test_result)
        self.test_result.show()
        # a wrapped label in a form is sized for one line until asked: give it all its lines
        self.test_result.setMinimumHeight(self.test_result.heightForWidth(max(1, self.test_result.width())))
        self.layout().activate()
        self.resize(self.width(), max(self.height(), self.sizeHint().height()))

    def _forget_test(self, *_args) -> None:
        if self._probe is None and self.test_result.isVisible():
            self.test_result.hide()     # the result was for other settings

    def _show_advanced(self, on: bool) -> None:
        self.advanced.setVisible(on)
        self.advanced_toggle.setText("Hide advanced settings ▾" if on else "Show advanced settings ▸")
        self.adjustSize()

    def _key_provider(self) -> str:
        p = self.provider.currentData()
        return "azure" if p == "azure" else "openai"

    def _provider_changed(self) -> None:
        p = self.provider.currentData()
        fields = {"endpoint": self.endpoint, "model": self.model, "api_version": self.api_version,
                  "azure_style": self.azure_style, "key": self.key}
        for name, w in fields.items():
            on = p in FIELD_PROVIDERS[name]
            w.setEnabled(on)
            w.setToolTip("" if on else "Not used by the local engine" if p == "local" else "Only used by Azure OpenAI")
        existing = self.secrets.get(self._key_provider())
        self.key.setPlaceholderText(f"stored: {mask(existing)} — type to replace" if existing
                                    else "paste your API key")
        if p in ("openai", "azure") and not existing and not self.key.text().strip():
            self.provider_note.setText(f"⚠ No API key is stored for {self.provider.currentText()}: "
                                       "paste it below, or nothing can be translated.")
            self.provider_note.setStyleSheet(f"color: {theme.colors().warn};")
        elif p in ("openai", "azure") and self.key.text().strip():
            # typing the key replaces the warning in place: the fields below do not jump
            self.provider_note.setText(f"The key for {self.provider.currentText()} is stored when you save.")
            self.provider_note.setStyleSheet("")
        elif p == "local":
            self.provider_note.setText("Runs on this computer: reads text back aloud, and translates only "
                                       "when an offline translator is installed.")
            self.provider_note.setStyleSheet("")
        else:
            self.provider_note.setText("")
        self.provider_note.setVisible(bool(self.provider_note.text()))
        self.layout().activate()       # a note that grew a line must not be clipped
        self.resize(self.width(), max(self.height(), self.sizeHint().height()))
        if self.secrets.persistent:
            self.key_status.setText(f"Keys are stored in the system keyring ({self.secrets.backend_name}).")
            self.key_status.setStyleSheet("")
        else:
            self.key_status.setText("⚠ No system keyring is available: the key will be kept for this "
                                    "session only and asked for again next time.")
            self.key_status.setStyleSheet(f"color: {theme.colors().warn};")

    def validation_problem(self) -> str | None:
        if self.provider.currentData() == "local" and not credentials_in_endpoint(self.endpoint.text()):
            return None      # the endpoint is not used; a stale value must not block saving (unless it holds a key)
        return endpoint_problem(self.endpoint.text())

    def accept(self) -> None:
        problem = self.validation_problem()
        if problem:
            self.problem.setText(problem)
            self.problem.show()
            self.endpoint.setFocus()
            self.endpoint.selectAll()
            return
        if self.key.text().strip() and self.provider.currentData() != "local":
            self.secrets.set(self._key_provider(), self.key.text())
        self.key.clear()
        super().accept()

    def result_settings(self) -> Settings:
        s = Settings.from_dict(self._base.to_dict())
        s.provider = self.provider.currentData()
        s.endpoint = self.endpoint.text().strip()
        s.model = self.model.text().strip() or "gpt-realtime"
        s.api_version = self.api_version.text().strip()
        s.azure_style = self.azure_style.currentData()
        s.flavor = self.flavor.currentData()
        s.voice = self.voice.currentText()
        s.audio_format = self.audio_format.currentData()
        s.verifier_model = self.verifier_model.text().strip() or "bundled:whisper-base"
        s.repair_policy = self.repair_policy.currentData()
        s.repair_attempts = self.repair_attempts.value()
        s.strict_mode = self.strict.isChecked()
        s.appearance = self.appearance.currentData()
        s.validate()
        return s
