"""What several test folders share: running a coroutine on the test loop, waiting for a
condition, keys for one test only, and a saved-looking utterance. Tests import these from
here, never from another test module."""

from tests.helpers.asyncio import run, until
from tests.helpers.data import utterance
from tests.helpers.secrets import SessionSecrets

__all__ = ["SessionSecrets", "run", "until", "utterance"]
