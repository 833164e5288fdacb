from __future__ import annotations

from app.core.secrets import SecretStore


class SessionSecrets(SecretStore):
    """Keys for this test only: never the machine's keyring or environment."""

    @staticmethod
    def _probe():
        return "test session", False

    def get(self, provider):
        return self._session.get(provider)
