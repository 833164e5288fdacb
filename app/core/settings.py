"""User settings as one typed, versioned record (no Qt).

The window persists it through QSettings; tests and the CLI build it directly. The API
key is deliberately NOT here: it lives in the OS keyring (see app/core/secrets.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any

SCHEMA_VERSION = 1


# The choice fields. StrEnums, so each value still is (and compares equal to) its string:
# widgets, QSettings and JSON keep handling plain strings.
class Provider(StrEnum):
    AUTO = "auto"          # OpenAI/Azure when a key is stored, else local
    LOCAL = "local"
    OPENAI = "openai"
    AZURE = "azure"


class AudioFormat(StrEnum):
    PCM16 = "pcm16"
    G711_ULAW = "g711_ulaw"
    G711_ALAW = "g711_alaw"


class RepairPolicy(StrEnum):
    OFF = "off"
    ASK = "ask"
    AUTOMATIC = "automatic"


class AzureStyle(StrEnum):
    V1 = "v1"              # /openai/v1 (GA shapes)
    LEGACY = "legacy"      # /openai/realtime?api-version


class Flavor(StrEnum):
    AUTO = "auto"
    GA = "ga"
    BETA = "beta"


class Appearance(StrEnum):
    SYSTEM = "system"      # follow the system's light/dark scheme
    LIGHT = "light"
    DARK = "dark"


PROVIDERS = tuple(p for p in Provider if p is not Provider.AUTO)
AUDIO_FORMATS = tuple(AudioFormat)
REPAIR_POLICIES = tuple(RepairPolicy)
APPEARANCES = tuple(Appearance)

# field -> (its enum, the value used when a stored one is not a member)
CHOICES: dict[str, tuple[type[StrEnum], StrEnum]] = {
    "provider": (Provider, Provider.AUTO),
    "azure_style": (AzureStyle, AzureStyle.V1),
    "flavor": (Flavor, Flavor.AUTO),
    "audio_format": (AudioFormat, AudioFormat.PCM16),
    "repair_policy": (RepairPolicy, RepairPolicy.AUTOMATIC),
    "appearance": (Appearance, Appearance.SYSTEM),
}


@dataclass(slots=True)
class Settings:
    provider: Provider = Provider.AUTO
    endpoint: str = ""                # Azure resource URL or a custom websocket base URL
    model: str = "gpt-realtime"       # OpenAI model / Azure deployment
    api_version: str = "2025-04-01-preview"   # Azure legacy only
    azure_style: AzureStyle = AzureStyle.V1
    flavor: Flavor = Flavor.AUTO
    voice: str = "alloy"
    audio_format: AudioFormat = AudioFormat.PCM16
    verifier_model: str = "bundled:whisper-base"
    source_language: str = "auto"
    target_language: str = "en"
    repair_policy: RepairPolicy = RepairPolicy.AUTOMATIC
    repair_attempts: int = 2
    strict_mode: bool = False         # text from the model, speech from TTS of that exact text
    audio_device: str = "auto"
    appearance: Appearance = Appearance.SYSTEM   # light/dark: follow the system, or the user's choice

    def to_dict(self) -> dict[str, Any]:
        data = {k: v.value if isinstance(v, StrEnum) else v for k, v in asdict(self).items()}
        return {"schema_version": SCHEMA_VERSION, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        """Tolerant: unknown keys are ignored, wrong types fall back to defaults."""
        data = migrate(dict(data))
        out = cls()
        for f in fields(cls):
            if f.name not in data:
                continue
            default = getattr(out, f.name)
            value = data[f.name]
            try:
                if isinstance(default, bool):
                    value = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
                elif isinstance(default, int):
                    value = int(value)
                else:
                    value = str(value)
            except (TypeError, ValueError):
                continue
            setattr(out, f.name, value)
        out.validate()
        return out

    def validate(self) -> None:
        """Choice fields become their enum member (an unknown value, the default); bounds apply."""
        for name, (enum, default) in CHOICES.items():
            try:
                setattr(self, name, enum(getattr(self, name)))
            except ValueError:
                setattr(self, name, default)
        self.repair_attempts = max(0, min(5, self.repair_attempts))


ENDPOINT_SCHEMES = ("https", "wss", "http", "ws")


_SECRET_PARAMS = {"api-key", "api_key", "apikey", "key", "access_token", "token", "password", "secret", "sig"}


def credentials_in_endpoint(value: str) -> str | None:
    """What secret an endpoint URL carries ("a user name or password", "an api-key parameter"), or None."""
    rest = value.split("://", 1)[1] if "://" in value else value
    authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if "@" in authority:
        return "a user name or password (user:password@)"
    query = value.split("?", 1)[1].split("#", 1)[0] if "?" in value else ""
    for pair in query.split("&"):
        name = pair.split("=", 1)[0].strip().lower()
        if name in _SECRET_PARAMS:
            return f"a key in its address (?{name}=)"
    return None


def endpoint_problem(endpoint: str) -> str | None:
    """Why `endpoint` cannot be used as a service URL (a sentence naming it), or None.
    Empty means "the provider's default" and is fine."""
    from urllib.parse import urlsplit

    value = (endpoint or "").strip()
    if not value:
        return None
    example = "such as https://NAME.openai.azure.com or wss://host/v1"
    secret = credentials_in_endpoint(value)
    if secret:    # refused before anything quotes the value: it must not be saved or shown
        return (f"The endpoint contains {secret}; the settings file would keep it in plain text. Remove it "
                f"and put the key in the API key field (it is kept in the system keyring).")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        return f"The endpoint \u201c{value}\u201d is not a valid URL; use one {example}."
    if parts.scheme.lower() not in ENDPOINT_SCHEMES:
        return (f"The endpoint \u201c{value}\u201d needs to start with https:// (or wss://); "
                f"use a URL {example}.")
    if any(c.isspace() for c in value):
        return f"The endpoint \u201c{value}\u201d contains a space; use a URL {example}."
    if not host:
        return f"The endpoint \u201c{value}\u201d has no host name; use a URL {example}."
    return None


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Bring settings saved by older versions forward (one step per schema version)."""
    version = int(data.get("schema_version") or 1)
    # version 1 is the first; later versions add their steps here.
    data["schema_version"] = max(version, SCHEMA_VERSION)
    return data
