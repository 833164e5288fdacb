"""API keys: kept in the OS keyring, never in settings files or logs.

When no usable keyring backend exists (a bare Linux session without Secret Service),
keys are kept for this session only and `persistent` is False so the window can say so.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)
SERVICE = "Verbatim"
_ENV = {"openai": "OPENAI_API_KEY", "azure": "AZURE_OPENAI_API_KEY"}


class Secret:
    """A string that never shows itself in repr/str/logs, nor in dataclasses.asdict/vars of
    the objects holding it (not a dataclass, so asdict does not open it up)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        object.__setattr__(self, "_value", value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Secret is immutable")

    def __repr__(self) -> str:
        return "Secret(****)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __copy__(self) -> Secret:
        return self             # immutable

    def __deepcopy__(self, memo: dict) -> Secret:
        return self

    def __bool__(self) -> bool:
        return bool(self._value)

    def reveal(self) -> str:
        return self._value


def mask(key: str | None) -> str:
    if not key:
        return "(none)"
    return f"{key[:3]}…{key[-4:]}" if len(key) > 12 else "****"


class SecretStore:
    def __init__(self) -> None:
        self._session: dict[str, str] = {}
        self.backend_name, self.persistent = self._probe()

    @staticmethod
    def _probe() -> tuple[str, bool]:
        try:
            import keyring
            from keyring.backends import fail

            kr = keyring.get_keyring()
            name = type(kr).__module__ + "." + type(kr).__name__
            if isinstance(kr, fail.Keyring) or "null" in name.lower():
                return name, False
            if "chainer" in name.lower() and not getattr(kr, "backends", None):
                return name, False
            if "plaintext" in name.lower():  # keyrings.alt plaintext: not a safe place for keys
                return name, False
            return name, True
        except Exception as exc:
            return f"unavailable ({exc.__class__.__name__})", False

    def get(self, provider: str) -> str | None:
        if provider in self._session:
            return self._session[provider]
        if self.persistent:
            try:
                import keyring

                value = keyring.get_password(SERVICE, provider)
                if value:
                    return value
            except Exception as exc:
                log.warning("keyring read failed: %s", exc.__class__.__name__)
        env = _ENV.get(provider)
        return os.environ.get(env) if env else None

    def set(self, provider: str, key: str) -> bool:
        """Store the key; returns True when it will survive a restart."""
        key = key.strip()
        if not key:
            self.delete(provider)
            return self.persistent
        if self.persistent:
            try:
                import keyring

                keyring.set_password(SERVICE, provider, key)
                self._session.pop(provider, None)
                return True
            except Exception as exc:
                log.warning("keyring write failed (%s); keeping the key for this session only",
                            exc.__class__.__name__)
                self.persistent = False
        self._session[provider] = key
        return False

    def delete(self, provider: str) -> None:
        self._session.pop(provider, None)
        if self.persistent:
            try:
                import keyring

                keyring.delete_password(SERVICE, provider)
            except Exception:
                pass
