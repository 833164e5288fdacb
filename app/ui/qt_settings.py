"""Settings <-> QSettings. Typed and versioned by app.core.settings; never holds the key."""

from __future__ import annotations

from dataclasses import fields

from PySide6.QtCore import QSettings

from app.core.settings import Settings

GROUP = "settings"


def load_settings(qs: QSettings) -> Settings:
    qs.beginGroup(GROUP)
    try:
        data = {k: qs.value(k) for k in qs.childKeys()}
    finally:
        qs.endGroup()
    return Settings.from_dict({k: v for k, v in data.items() if v is not None})


def save_settings(qs: QSettings, settings: Settings) -> None:
    qs.beginGroup(GROUP)
    try:
        for key, value in settings.to_dict().items():
            qs.setValue(key, value)
        known = {f.name for f in fields(Settings)} | {"schema_version"}
        for stale in set(qs.childKeys()) - known:
            qs.remove(stale)
    finally:
        qs.endGroup()
    qs.sync()
