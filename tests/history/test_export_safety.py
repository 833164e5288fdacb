"""Export never writes through a symlink, leaves nothing behind when the disk fails, and
writes private (0600) files whatever the umask (issue 24, "Files")."""

import errno
import os
import resource
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.history import HistoryStore
from app.history.export import ExportWriteError, available_formats, export, export_file, file_name
from tests.helpers import utterance

ROOT = Path(__file__).resolve().parents[2]
FORMATS = available_formats()


@pytest.fixture
def umask_000():
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def saved(tmp_path, text="Where is the station?"):
    store = HistoryStore(tmp_path / "h")
    u = utterance(text)
    store.save(u)
    store.close()
    return str(tmp_path / "h"), u


def listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_symlink_at_the_target_is_refused_and_its_victim_untouched(tmp_path, fmt):
    u = utterance()
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = out / file_name(u, fmt)
    link.symlink_to(victim)
    with pytest.raises(ExportWriteError, match="symbolic link"):
        export(u, fmt, out)
    assert victim.read_text() == "precious"
    assert link.is_symlink() and os.readlink(link) == str(victim)
    assert [p.name for p in out.iterdir()] == [link.name]   # no temp file left


@pytest.mark.parametrize("fmt", FORMATS)
def test_exports_are_0600_even_under_umask_000(tmp_path, fmt, umask_000):
    path = export(utterance(), fmt, tmp_path / "out")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o700     # the folder it made, too
    # replacing an existing, world-readable file gives a private one too
    existing = tmp_path / f"old.{fmt}"
    existing.write_bytes(b"old")
    existing.chmod(0o666)
    export_file(utterance(), fmt, existing)
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600 and existing.read_bytes() != b"old"


def full_disk(monkeypatch):
    """Half of the first chunk lands on disk, then the disk is full."""
    import app.core.files as files

    def write(fd, chunk):
        os.write(fd, bytes(chunk[: max(1, len(chunk) // 2)]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files, "_write_chunk", write)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_full_disk_leaves_no_partial_or_temp_file_and_keeps_the_old_one(tmp_path, fmt, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    u = utterance()
    (out / file_name(u, fmt)).write_bytes(b"the previous export")
    before = listing(out)
    full_disk(monkeypatch)
    with pytest.raises(ExportWriteError, match="No space left on device"):
        export(u, fmt, out)
    assert listing(out) == before


def test_cli_full_disk_is_one_line_exit_2_and_nothing_left(tmp_path, monkeypatch, capsys):
    d, u = saved(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    full_disk(monkeypatch)
    assert main(["history", "--dir", d, "export", u.id, "--format", "json", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err and "Traceback" not in err
    assert list(out.iterdir()) == []


def test_cli_file_size_limit_leaves_no_truncated_json(tmp_path):
    """The real thing, not a monkeypatch: a 100 KB file-size limit stops the write of a 200 KB
    JSON part-way (EFBIG, as a full disk would with ENOSPC). The history itself only reads."""
    d, u = saved(tmp_path, "Where is the station? " * 10_000)
    out = tmp_path / "out"
    out.mkdir()

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    r = subprocess.run([sys.executable, "-m", "app", "history", "--dir", d, "export", u.id,
                        "--format", "json", "--out", str(out)], cwd=ROOT, capture_output=True,
                       text=True, timeout=120, preexec_fn=limit)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and "cannot write" in r.stderr and "File too large" in r.stderr
    assert list(out.iterdir()) == []


def test_cli_unwritable_folder_is_one_line_exit_2(tmp_path, capsys):
    d, u = saved(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(["history", "--dir", d, "export", u.id, "--format", "srt",
                 "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Not a directory" in err and "Traceback" not in err


def test_cli_symlink_target_is_refused_with_a_clear_message(tmp_path, capsys):
    d, u = saved(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (out / file_name(u, "json")).symlink_to(victim)
    assert main(["history", "--dir", d, "export", "--all", "--format", "json", "--out", str(out)]) == 2
    assert "symbolic link" in capsys.readouterr().err and victim.read_text() == "precious"
