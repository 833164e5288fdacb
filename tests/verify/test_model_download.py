"""User-chosen model downloads: https only (loopback http for tests), no redirect off https,
size caps, a cache folder named by the URL's hash, plain file names. Every server here is
started by the test on 127.0.0.1."""

from __future__ import annotations

import hashlib
import http.server
import shutil
import ssl
import subprocess
import threading
import time

import pytest

from app.verify import models
from app.verify.models import ModelError, download_model, fetch_manifest, resolve_model


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Site:
    """A tiny web server on 127.0.0.1: path -> bytes, or ("redirect", url), ("stream", bytes) or
    ("trickle", bytes, seconds between bytes)."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, object] = {}
        self.hits: list[str] = []
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                site.hits.append(self.path)
                route = site.routes.get(self.path)
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif isinstance(route, tuple) and route[0] == "redirect":
                    self.send_response(302)
                    self.send_header("Location", route[1])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif isinstance(route, tuple) and route[0] == "trickle":   # one byte at a time, slowly
                    data, gap = route[1], route[2]
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    try:
                        for i in range(len(data)):
                            self.wfile.write(data[i:i + 1])
                            self.wfile.flush()
                            time.sleep(gap)
                    except OSError:   # the client gave up
                        pass
                    self.close_connection = True
                elif isinstance(route, tuple) and route[0] == "stream":   # no Content-Length
                    self.send_response(200)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(route[1])
                    self.close_connection = True
                else:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(route)))
                    self.end_headers()
                    self.wfile.write(route)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def base(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}"

    def publish(self, folder: str, files: dict[str, bytes], manifest: str | None = None) -> str:
        for name, data in files.items():
            self.routes[f"/{folder}/{name}"] = data
        if manifest is None:
            manifest = "".join(f"{_sha(v)}  {k}\n" for k, v in files.items())
        self.routes[f"/{folder}/SHA256SUMS"] = manifest.encode()
        return f"{self.base}/{folder}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


MODEL = {"model.bin": b"M" * 3000, "config.json": b"{}"}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VERBATIM_MODEL_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def site():
    s = Site()
    yield s
    s.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    openssl = shutil.which("openssl")
    assert openssl, "openssl is installed by the test setup"
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1"],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture
def tls_site(certificate, monkeypatch):
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))    # trust this test's certificate only
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    s = Site(ctx)
    yield s
    s.close()


# --- https only ------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["http://example.com/models/base", "http://192.0.2.1/m", "http://10.0.0.1:8000/m",
                                 "ftp://example.com/m", "file:///etc/m", "https:///no-host"])
def test_only_https_is_accepted_except_loopback_http(url, cache):
    with pytest.raises(ModelError, match="https"):
        resolve_model(url)
    assert not cache.exists()


def test_loopback_http_and_https_both_work(site, tls_site, cache):
    for s in (site, tls_site):
        d = resolve_model(s.publish("m", MODEL))
        assert (d / "model.bin").read_bytes() == MODEL["model.bin"]


# --- redirects -------------------------------------------------------------------------------

def test_a_redirect_from_https_to_http_is_refused(site, tls_site, cache):
    plain = site.publish("m", MODEL)
    tls_site.routes["/m/SHA256SUMS"] = ("redirect", plain + "/SHA256SUMS")
    with pytest.raises(ModelError, match="redirect from https to http"):
        resolve_model(tls_site.base + "/m")
    assert site.hits == []          # the http server was never asked
    # and for a model file, after a good manifest
    tls_url = tls_site.publish("n", MODEL)
    tls_site.routes["/n/model.bin"] = ("redirect", plain + "/model.bin")
    with pytest.raises(ModelError, match="redirect from https to http"):
        resolve_model(tls_url)
    assert site.hits == []
    assert not any(p.name.startswith("remote-") for p in cache.iterdir())


def test_a_redirect_off_this_machine_over_http_is_refused(site, cache):
    site.routes["/m/SHA256SUMS"] = ("redirect", "http://192.0.2.1/m/SHA256SUMS")
    with pytest.raises(ModelError, match="redirect"):
        resolve_model(site.base + "/m")


def test_redirects_to_https_are_followed(site, tls_site, cache):
    tls_url = tls_site.publish("m", MODEL)
    site.routes["/up/SHA256SUMS"] = ("redirect", tls_url + "/SHA256SUMS")
    for name in MODEL:
        site.routes[f"/up/{name}"] = ("redirect", f"{tls_url}/{name}")
    d = resolve_model(site.base + "/up")
    assert (d / "config.json").read_bytes() == b"{}"


# --- size caps -------------------------------------------------------------------------------

def test_defaults_cap_sizes():
    assert 1 << 30 <= models.MAX_FILE_BYTES <= 4 << 30
    assert models.MAX_FILE_BYTES <= models.MAX_TOTAL_BYTES <= 8 << 30


def test_an_announced_file_over_the_cap_is_not_downloaded(site, tmp_path):
    url = site.publish("m", {"model.bin": b"x" * 5000})
    with pytest.raises(ModelError, match="more than the 4000"):
        download_model(url, {"model.bin": _sha(b"x" * 5000)}, tmp_path / "dl", max_file_bytes=4000)
    assert list(tmp_path.iterdir()) == []


def test_a_file_without_length_is_stopped_at_the_cap(site, tmp_path):
    site.routes["/m/model.bin"] = ("stream", b"x" * 200_000)
    with pytest.raises(ModelError, match="more than the 50000"):
        download_model(site.base + "/m", {"model.bin": _sha(b"x" * 200_000)}, tmp_path / "dl", max_file_bytes=50_000)
    assert list(tmp_path.iterdir()) == []


def test_the_total_is_capped(site, tmp_path, cache):
    files = {"model.bin": b"a" * 600, "config.json": b"b" * 600, "tokenizer.json": b"c" * 600}
    url = site.publish("m", files)
    with pytest.raises(ModelError, match="larger than 1000"):
        download_model(url, {k: _sha(v) for k, v in files.items()}, tmp_path / "dl", max_total_bytes=1000)
    with pytest.raises(ModelError, match="larger than 1500"):
        resolve_model(url, max_total_bytes=1500)
    assert list(tmp_path.glob("dl*")) == []


def test_a_huge_manifest_is_refused(site, cache):
    site.routes["/m/SHA256SUMS"] = ("stream", b"#" * (models.MAX_MANIFEST_BYTES + 10))
    with pytest.raises(ModelError, match="SHA256SUMS.*larger"):
        resolve_model(site.base + "/m")


# --- time limits (the probe: 1 byte every 2 s hung forever and left a .part folder) --------

def _resolve_within(seconds: float, *args, **kwargs):
    """resolve_model on a thread: its exception, or a failure if it is still running after `seconds`."""
    out: list[BaseException | object] = []
    worker = threading.Thread(target=lambda: out.append(_call(resolve_model, *args, **kwargs)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert out, f"the download was still running after {seconds} s"
    return out[0]


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except BaseException as exc:
        return exc


def _leftovers(cache):
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def test_defaults_bound_a_download_in_time():
    assert 600 <= models.DOWNLOAD_DEADLINE_S <= 6 * 3600
    assert 1_000 <= models.MIN_RATE_BPS and 10 <= models.RATE_WINDOW_S <= 300


def test_a_trickling_file_is_stopped_below_the_minimum_rate_and_nothing_is_left(site, cache):
    url = site.publish("m", MODEL)
    site.routes["/m/model.bin"] = ("trickle", MODEL["model.bin"], 0.2)
    t0 = time.monotonic()
    err = _resolve_within(20, url, min_rate_bps=100, rate_window_s=0.5)
    assert isinstance(err, ModelError), err
    assert "model.bin stopped" in str(err) and "minimum of 100 bytes/s" in str(err)
    assert time.monotonic() - t0 < 5
    assert _leftovers(cache) == []          # no .part folder, no cache folder


def test_a_trickling_manifest_is_stopped_too(site, cache):
    site.publish("m", MODEL)
    site.routes["/m/SHA256SUMS"] = ("trickle", site.routes["/m/SHA256SUMS"], 0.2)
    err = _resolve_within(20, site.base + "/m", min_rate_bps=100, rate_window_s=0.5)
    assert isinstance(err, ModelError) and "SHA256SUMS stopped" in str(err), err
    assert _leftovers(cache) == []


def test_a_download_past_its_deadline_is_stopped_and_nothing_is_left(site, cache, tmp_path):
    url = site.publish("m", MODEL)
    site.routes["/m/model.bin"] = ("trickle", MODEL["model.bin"], 0.01)   # fast enough, never done in time
    err = _resolve_within(20, url, deadline_s=1.0, min_rate_bps=1, rate_window_s=0.5)
    assert isinstance(err, ModelError) and "did not finish within 1 s" in str(err), err
    assert _leftovers(cache) == []
    with pytest.raises(ModelError, match="did not finish within 1 s"):   # download_model on its own
        download_model(url, {"model.bin": _sha(MODEL["model.bin"])}, tmp_path / "dl", deadline_s=1.0,
                       min_rate_bps=1, rate_window_s=0.5)
    assert list(tmp_path.glob("dl*")) == []


def test_a_steady_download_within_the_limits_completes(site, cache):
    url = site.publish("m", MODEL)
    site.routes["/m/config.json"] = ("trickle", MODEL["config.json"], 0.3)
    d = _resolve_within(20, url, deadline_s=10, min_rate_bps=1, rate_window_s=1)
    assert (d / "config.json").read_bytes() == b"{}"


# --- where it lands --------------------------------------------------------------------------

def test_the_cache_folder_is_named_by_the_url_hash_only(site, cache):
    url = site.publish("m", MODEL)
    d = resolve_model(url)
    assert d.parent == cache and d.name == "remote-" + _sha(url.encode())[:32]
    tricky = site.base + "/a/../../m"
    site.routes["/a/../../m/SHA256SUMS"] = site.routes["/m/SHA256SUMS"]
    for name, data in MODEL.items():
        site.routes[f"/a/../../m/{name}"] = data
    d2 = resolve_model(tricky)
    assert d2.parent == cache and ".." not in d2.name


@pytest.mark.parametrize("url", ["https://host?/../../x", "https://host/m?x=/../../y", "https://host/m#/../../z"])
def test_urls_with_a_query_or_fragment_are_refused(url, cache):
    with pytest.raises(ModelError, match="query or #fragment"):
        resolve_model(url)
    assert not cache.exists()


@pytest.mark.parametrize("name", ["D:x", "C:model.bin", "../model.bin", "..", ".", "a/b", "a\\b", "/etc/passwd",
                                  "model bin", "mödel.bin", ".verified.json", ".hidden", "model..bin", "CON",
                                  "nul.txt", "com1.bin", "x" * 200, ""])
def test_sha256sums_may_name_only_plain_files(site, name, cache):
    url = site.publish("m", MODEL, manifest=f"{_sha(b'x')}  model.bin\n{_sha(b'x')}  {name}\n")
    with pytest.raises(ModelError, match="unsafe file|malformed"):
        fetch_manifest(url)
    with pytest.raises(ModelError, match="refusing to download a file named"):
        download_model(url, {name: _sha(b"x")}, cache / "dl")


def test_plain_names_pass(site):
    url = site.publish("m", MODEL, manifest=f"{_sha(b'x')}  model.bin\n{_sha(b'y')} *vocab-v2_en.txt\n")
    assert fetch_manifest(url) == {"model.bin": _sha(b"x"), "vocab-v2_en.txt": _sha(b"y")}
