"""Model assembly (checksums, atomic, cache reuse), downloads over 127.0.0.1, the worker."""

from __future__ import annotations

import hashlib
import http.server
import threading
from concurrent.futures import Future
from functools import partial

import numpy as np
import pytest

from app.verify import models
from app.verify.models import BundledModel, ModelError, assemble_bundled, download_model, resolve_model


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


@pytest.fixture
def fake_bundle(tmp_path, monkeypatch):
    """A bundle whose 'packages' are folders we control."""
    pkg = tmp_path / "pkgs"
    (pkg / "fakepart1" / "data").mkdir(parents=True)
    (pkg / "fakepart2" / "data").mkdir(parents=True)
    p1, p2 = b"A" * 3000 + b"x", b"B" * 2000
    (pkg / "fakepart1" / "data" / "model.bin.part1").write_bytes(p1)
    (pkg / "fakepart2" / "data" / "model.bin.part2").write_bytes(p2)
    (pkg / "fakepart1" / "data" / "config.json").write_text("{}")
    (pkg / "fakepart1" / "data" / "tokenizer.json").write_text('{"t": 1}')
    for p in ("fakepart1", "fakepart2"):
        (pkg / p / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(pkg))
    bundle = BundledModel("fake", (("fakepart1", "data/model.bin.part1"), ("fakepart2", "data/model.bin.part2")),
                          _sha(p1 + p2), len(p1 + p2),
                          (("fakepart1", "data/config.json", None),
                           ("fakepart1", "data/tokenizer.json", _sha(b'{"t": 1}'))))
    return bundle, p1 + p2


def test_assemble_verifies_and_reuses(tmp_path, fake_bundle):
    bundle, blob = fake_bundle
    seen = []
    d = assemble_bundled(dest_root=tmp_path / "cache", bundle=bundle, progress=lambda a, b: seen.append((a, b)))
    assert (d / "model.bin").read_bytes() == blob
    assert (d / "config.json").exists() and (d / "tokenizer.json").exists()
    assert seen[-1] == (len(blob), len(blob))
    assert not list(d.glob("*.tmp"))
    mtime = (d / "model.bin").stat().st_mtime_ns
    d2 = assemble_bundled(dest_root=tmp_path / "cache", bundle=bundle)
    assert d2 == d and (d / "model.bin").stat().st_mtime_ns == mtime   # reused, not rebuilt


def test_assemble_sha_mismatch_raises_and_leaves_nothing(tmp_path, fake_bundle):
    bundle, blob = fake_bundle
    bad = BundledModel(bundle.name, bundle.parts, "0" * 64, bundle.model_size, bundle.extra)
    with pytest.raises(ModelError, match="damaged"):
        assemble_bundled(dest_root=tmp_path / "cache", bundle=bad)
    d = tmp_path / "cache" / "fake"
    assert not (d / "model.bin").exists()
    assert not list(d.glob("*.tmp"))


def test_assemble_rebuilds_a_corrupted_cache(tmp_path, fake_bundle):
    bundle, blob = fake_bundle
    d = assemble_bundled(dest_root=tmp_path / "cache", bundle=bundle)
    (d / "model.bin").write_bytes(b"garbage")
    d = assemble_bundled(dest_root=tmp_path / "cache", bundle=bundle)
    assert (d / "model.bin").read_bytes() == blob


def test_missing_package_is_a_clear_error(tmp_path):
    bundle = BundledModel("nope", (("no_such_package_xyz", "data/model.bin.part1"),), "0" * 64, 1, ())
    with pytest.raises(ModelError, match="not installed"):
        assemble_bundled(dest_root=tmp_path, bundle=bundle)


def test_unknown_specs():
    with pytest.raises(ModelError, match="unknown bundled model"):
        resolve_model("bundled:whisper-giant")
    with pytest.raises(ModelError, match="not found"):
        resolve_model("/definitely/not/here")


def test_real_bundled_model_resolves():
    d = resolve_model("bundled:whisper-base")
    assert (d / "model.bin").stat().st_size == 145_217_532
    assert models.model_name("bundled:whisper-base") == "whisper-base"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


@pytest.fixture
def http_root(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}/m"
    finally:
        server.shutdown()
        server.server_close()


def test_download_over_localhost_with_progress(tmp_path, http_root, monkeypatch):
    monkeypatch.setenv("VERBATIM_MODEL_CACHE", str(tmp_path / "cache"))   # not the user's cache
    root, url = http_root
    (root / "m").mkdir()
    files = {"model.bin": b"M" * 300_000, "config.json": b"{}", "tokenizer.json": b'{"x": 2}'}
    for name, data in files.items():
        (root / "m" / name).write_bytes(data)
    seen = []
    dest = download_model(url, {k: _sha(v) for k, v in files.items()}, tmp_path / "dl",
                          progress=lambda a, b: seen.append((a, b)))
    for name, data in files.items():
        assert (dest / name).read_bytes() == data
    total = sum(len(v) for v in files.values())
    assert seen and seen[-1][0] == total
    assert all(a <= b or b == 0 for a, b in seen)
    # and via a spec with SHA256SUMS
    (root / "m" / "SHA256SUMS").write_text("".join(f"{_sha(v)}  {k}\n" for k, v in files.items()))
    d = resolve_model(url)
    assert (d / "model.bin").read_bytes() == files["model.bin"]


def test_download_checksum_mismatch_and_404(tmp_path, http_root):
    root, url = http_root
    (root / "m").mkdir()
    (root / "m" / "model.bin").write_bytes(b"evil")
    with pytest.raises(ModelError, match="checksum"):
        download_model(url, {"model.bin": _sha(b"good")}, tmp_path / "dl")
    assert not (tmp_path / "dl").exists()
    assert not list(tmp_path.glob("dl.*"))
    with pytest.raises(ModelError, match="404"):
        download_model(url, {"nothere.bin": "0" * 64}, tmp_path / "dl2")


def test_worker_runs_in_background_and_propagates_errors(verifier):
    from app.core.report import Report
    from app.verify.worker import VerifierWorker

    w = VerifierWorker(verifier=verifier)
    try:
        assert isinstance(w.warm(), Future)
        w.warm().result(timeout=60)
        main = threading.get_ident()
        seen = {}
        orig = verifier.verify

        def spy(*a):
            seen["thread"] = threading.get_ident()
            return orig(*a)

        verifier.verify = spy
        try:
            fut = w.submit("Hello there.", np.zeros(16000, np.int16), 16000, "en")
            assert isinstance(fut, Future)
            report = fut.result(timeout=60)
        finally:
            del verifier.verify
        assert isinstance(report, Report) and seen["thread"] != main
        bad = w.submit("Hello.", np.zeros(100, np.int16), 16000, "xx")
        with pytest.raises(ValueError, match="unknown language"):
            bad.result(timeout=60)
    finally:
        w.close()
    with pytest.raises(RuntimeError):
        w.submit("Hello.", np.zeros(100, np.int16), 16000, "en")


def test_worker_verifies_the_view_it_was_given_without_copying_it(verifier):
    """submit() hands the verifier the caller's samples (no copy on the Qt thread), and what
    the stream appends to the utterance afterwards does not change the verdict."""
    from app.audio.resample import resample
    from app.core.utterance import Utterance
    from app.tts import synthesize
    from app.verify.worker import VerifierWorker

    said = "The station is closed today."
    s = synthesize(said, "en", voice="espeak")
    u = Utterance("La estación está cerrada hoy.", "es", "en", transcript=said)
    u.append_audio(resample(s.samples, s.sample_rate, u.sample_rate))
    submitted = u.audio
    expected = submitted.copy()
    gate, seen = threading.Event(), {}
    w = VerifierWorker(verifier=verifier)
    orig = verifier.verify

    def held(transcript, pcm, *a):
        seen["pcm"] = pcm
        gate.wait(30)    # the stream keeps appending while the check waits for its turn
        return orig(transcript, pcm, *a)

    verifier.verify = held
    try:
        fut = w.submit(u.transcript, submitted, u.sample_rate, "en")
        other = synthesize("Bananas are yellow and the sea is very deep.", "en", voice="espeak")
        for _ in range(3):
            u.append_audio(resample(other.samples, other.sample_rate, u.sample_rate))
        gate.set()
        report = fut.result(timeout=60)
    finally:
        del verifier.verify
        w.close()
    assert np.shares_memory(seen["pcm"], submitted)          # no copy was made
    assert len(seen["pcm"]) == len(expected) and np.array_equal(seen["pcm"], expected)
    assert report.matches, report.to_dict()
