"""Settings: provider, endpoint, model, voice, audio format, verifier, repair, API key.

The key goes to the OS keyring (app.core.secrets); when there is no keyring the dialog
says plainly that the key lasts for this session only.
"""

from __future__ import annotations

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout,
                               QGroupBox, QLabel, QLineEdit, QSpinBox, QVBoxLayout)

from app.core.secrets import SecretStore, mask
from app.core.settings import AUDIO_FORMATS, Settings

VOICES = ["alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar"]


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, secrets: SecretStore, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.secrets = secrets
        self._base = Settings.from_dict(settings.to_dict())
        lay = QVBoxLayout(self)

        conn = QGroupBox("Translation service", self)
        form = QFormLayout(conn)
        self.provider = QComboBox(self)
        for label, value in [("Automatic (OpenAI/Azure when a key is set, else local)", "auto"),
                             ("Local engine (offline)", "local"), ("OpenAI", "openai"),
                             ("Azure OpenAI", "azure")]:
            self.provider.addItem(label, value)
        self.provider.setCurrentIndex(max(0, self.provider.findData(settings.provider)))
        self.endpoint = QLineEdit(settings.endpoint, self)
        self.endpoint.setPlaceholderText("https://<resource>.openai.azure.com (Azure) or a custom wss:// URL")
        self.model = QLineEdit(settings.model, self)
        self.model.setPlaceholderText("gpt-realtime (OpenAI) or your deployment name (Azure)")
        self.api_version = QLineEdit(settings.api_version, self)
        self.azure_style = QComboBox(self)
        self.azure_style.addItem("v1 endpoint (/openai/v1)", "v1")
        self.azure_style.addItem("Legacy (/openai/realtime?api-version=…)", "legacy")
        self.azure_style.setCurrentIndex(max(0, self.azure_style.findData(settings.azure_style)))
        self.flavor = QComboBox(self)
        for label, value in [("Automatic", "auto"), ("GA", "ga"), ("Beta (realtime=v1)", "beta")]:
            self.flavor.addItem(label, value)
        self.flavor.setCurrentIndex(max(0, self.flavor.findData(settings.flavor)))
        self.key = QLineEdit(self)
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_status = QLabel(self)
        self.key_status.setWordWrap(True)
        form.addRow("Provider", self.provider)
        form.addRow("Endpoint", self.endpoint)
        form.addRow("Model / deployment", self.model)
        form.addRow("Azure API version", self.api_version)
        form.addRow("Azure style", self.azure_style)
        form.addRow("Protocol", self.flavor)
        form.addRow("API key", self.key)
        form.addRow("", self.key_status)
        lay.addWidget(conn)

        speech = QGroupBox("Speech", self)
        f2 = QFormLayout(speech)
        self.voice = QComboBox(self)
        self.voice.addItems(VOICES)
        self.voice.setCurrentText(settings.voice)
        self.audio_format = QComboBox(self)
        self.audio_format.addItems(list(AUDIO_FORMATS))
        self.audio_format.setCurrentText(settings.audio_format)
        self.verifier_model = QLineEdit(settings.verifier_model, self)
        self.verifier_model.setToolTip("bundled:whisper-base, a local CTranslate2 model folder, or an https URL")
        f2.addRow("Voice", self.voice)
        f2.addRow("Audio format", self.audio_format)
        f2.addRow("Verifier model", self.verifier_model)
        lay.addWidget(speech)

        repair = QGroupBox("When the audio does not match", self)
        f3 = QFormLayout(repair)
        self.repair_policy = QComboBox(self)
        for label, value in [("Repair automatically", "automatic"), ("Ask me", "ask"), ("Only flag it", "off")]:
            self.repair_policy.addItem(label, value)
        self.repair_policy.setCurrentIndex(max(0, self.repair_policy.findData(settings.repair_policy)))
        self.repair_attempts = QSpinBox(self)
        self.repair_attempts.setRange(1, 5)
        self.repair_attempts.setValue(max(1, settings.repair_attempts))
        self.strict = QCheckBox("Strict mode: take only text from the model and synthesize that exact text", self)
        self.strict.setChecked(settings.strict_mode)
        f3.addRow("Repair", self.repair_policy)
        f3.addRow("Attempts", self.repair_attempts)
        f3.addRow(self.strict)
        lay.addWidget(repair)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.provider.currentIndexChanged.connect(self._provider_changed)
        self._provider_changed()

    def _key_provider(self) -> str:
        p = self.provider.currentData()
        return "azure" if p == "azure" else "openai"

    def _provider_changed(self) -> None:
        p = self.provider.currentData()
        azure = p == "azure"
        for w in (self.api_version, self.azure_style):
            w.setEnabled(azure)
        self.key.setEnabled(p != "local")
        existing = self.secrets.get(self._key_provider())
        self.key.setPlaceholderText(f"stored: {mask(existing)} — type to replace" if existing
                                    else "paste your API key")
        if self.secrets.persistent:
            self.key_status.setText(f"Keys are stored in the system keyring ({self.secrets.backend_name}).")
            self.key_status.setStyleSheet("")
        else:
            self.key_status.setText("⚠ No system keyring is available: the key will be kept for this "
                                    "session only and asked for again next time.")
            self.key_status.setStyleSheet("color: #9a6700;")

    def accept(self) -> None:
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
        s.audio_format = self.audio_format.currentText()
        s.verifier_model = self.verifier_model.text().strip() or "bundled:whisper-base"
        s.repair_policy = self.repair_policy.currentData()
        s.repair_attempts = self.repair_attempts.value()
        s.strict_mode = self.strict.isChecked()
        s.validate()
        return s
