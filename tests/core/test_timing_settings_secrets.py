import pytest

from app.core.secrets import Secret, SecretStore, mask
from app.core.settings import Settings
from app.core.timing import HighlightTracker, estimate_word_times, syllables
from app.text import split_words


def test_estimate_covers_every_word_in_order_and_fits_audio():
    t = "Exactly, it used to work. Now it does not."
    times = estimate_word_times(t)
    assert len(times) == len(split_words(t))
    starts = [a for a, _ in times]
    assert starts == sorted(starts)
    fitted = estimate_word_times(t, 5.0)
    assert abs(fitted[-1][1] - 5.0) < 1e-6
    # a sentence break leaves a longer pause than a word gap
    gaps = [fitted[i + 1][0] - fitted[i][1] for i in range(len(fitted) - 1)]
    assert gaps[4] > gaps[0] > gaps[1] == 0   # sentence > comma > plain word gap


def test_syllables_weigh_digits_and_symbols():
    assert syllables("cat") == 1 and syllables("automatically") >= 5
    assert syllables("2025") > syllables("cat") and syllables("@") >= 2


def test_highlight_follows_position_and_never_jumps_back_while_playing():
    h = HighlightTracker()
    h.set_times([(0.0, 0.4), (0.5, 0.9), None, (1.0, 1.4), (1.5, 1.9)])
    assert h.update(0.2) == 0
    assert h.update(0.6) == 1
    assert h.update(1.2) == 3      # the unspoken word (None) is skipped
    # better times arrive that place 1.25 s inside word 1: hold on word 3, no flick back
    h.set_times([(0.0, 0.6), (0.7, 1.3), None, (1.35, 1.6), (1.65, 2.0)])
    assert h.update(1.25) == 3
    assert h.update(1.7) == 4
    h.reset()                       # a seek may go backwards
    assert h.update(0.1) == 0


def test_settings_round_trip_and_tolerate_garbage():
    s = Settings(provider="azure", endpoint="https://x.openai.azure.com", repair_attempts=3, strict_mode=True)
    assert Settings.from_dict(s.to_dict()) == s
    bad = Settings.from_dict({"provider": "nonsense", "repair_attempts": "many", "audio_format": "mp3",
                              "strict_mode": "yes", "unknown": 1})
    assert bad.provider == "auto" and bad.repair_attempts == 2 and bad.audio_format == "pcm16"
    assert bad.strict_mode is True
    assert "api_key" not in s.to_dict()


def test_settings_choices_are_enums_that_stay_strings():
    import json

    from app.core.settings import AudioFormat, Flavor, Provider, RepairPolicy

    s = Settings.from_dict({"provider": "openai", "audio_format": "g711_ulaw", "flavor": "beta",
                            "repair_policy": "ask", "azure_style": "nonsense"})
    assert s.provider is Provider.OPENAI and s.audio_format is AudioFormat.G711_ULAW
    assert s.flavor is Flavor.BETA and s.repair_policy is RepairPolicy.ASK and s.azure_style == "v1"
    assert s.provider == "openai" and f"{s.audio_format}" == "g711_ulaw"   # widgets see strings
    d = s.to_dict()
    assert type(d["provider"]) is str and json.loads(json.dumps(d))["audio_format"] == "g711_ulaw"
    s.repair_policy = "off"            # a widget stores a plain string; validate brings the enum back
    s.validate()
    assert s.repair_policy is RepairPolicy.OFF


def test_secret_never_shows_itself():
    s = Secret("sk-abcdefghijklmnop")
    assert "abcdef" not in repr(s) and "abcdef" not in str(s) and s.reveal().startswith("sk-")
    assert mask("sk-abcdefghijklmnop") == "sk-…mnop"


def test_without_keyring_keys_last_for_the_session_only():
    store = SecretStore()                 # tests force keyring's fail backend
    assert store.persistent is False
    assert store.set("openai", "  sk-test-123456789  ") is False
    assert store.get("openai") == "sk-test-123456789"
    assert SecretStore().get("openai") is None   # a new session does not have it
    store.delete("openai")
    assert store.get("openai") is None


@pytest.mark.parametrize("endpoint,secret", [
    ("https://alice:hunter2secret@x.openai.azure.com", "hunter2secret"),
    ("wss://tok-SECRET9@proxy.example/v1", "tok-SECRET9"),
    ("https://x.openai.azure.com/openai?api-key=SECRET9abc", "SECRET9abc"),
    ("wss://proxy.example/v1?model=m&API_KEY=SECRET9abc", "SECRET9abc"),
    ("https://u:p@w@x:notaport", "p@w"),     # refused before the bad port is quoted back
])
def test_an_endpoint_carrying_credentials_is_refused_without_quoting_them(endpoint, secret):
    from app.core.settings import endpoint_problem

    problem = endpoint_problem(endpoint)
    assert problem and "API key field" in problem and secret not in problem


@pytest.mark.parametrize("endpoint", ["", "https://x.openai.azure.com", "wss://h.example/v1?model=m",
                                      "https://h.example/a@b"])
def test_endpoints_without_credentials_are_still_accepted(endpoint):
    from app.core.settings import endpoint_problem

    assert endpoint_problem(endpoint) is None
