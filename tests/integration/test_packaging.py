"""The sdist and the wheel, built as a user or an index builds them.

``python -m build`` (isolated, so with the setuptools a user would get)
builds the sdist and then the wheel from that sdist, from a copy of the
tree: building writes ``*.egg-info`` into the tree it builds, and setuptools
reads a ``SOURCES.txt`` left there back into the next sdist, which would hide
a file missing from MANIFEST.in. The copy also gets decoy environments
(a ``.venv``, ``bench/.venv-peers``, ``node_modules``, ``__pycache__``) that
the sdist must leave out.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import List, NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Never copied: installed environments, caches, earlier build output.
SKIP_ANYWHERE = {".git", ".venv", ".venv-peers", "node_modules", ".tox", "__pycache__",
                 ".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache"}
SKIP_AT_ROOT = {"build", "dist", "artifacts"}

DECOYS = [
    "bench/.venv-peers/lib/decoy.py",
    "bench/node/node_modules/decoy/index.js",
    "tests/.venv/lib/decoy.py",
    "example/__pycache__/decoy.cpython-311.pyc",
]

# Lines in which a tool names the file it handles, not a message about it.
FILE_LINE = re.compile(r"^(copying|adding|creating|hard linking|removing|byte-compiling|writing|reading) ")
# Directories shipped whole in the sdist (MANIFEST.in).
SHIPPED_TREES = ["docs", "tests", "example", "bench"]

SUSPICIOUS = re.compile(r"warn|deprecat|absent from", re.IGNORECASE)


class Built(NamedTuple):
    output: str
    sdist: Path
    wheel: Path


def _ignore(directory: str, names: List[str]) -> List[str]:
    at_root = Path(directory) == ROOT
    return [n for n in names
            if n in SKIP_ANYWHERE or n.endswith(".egg-info") or (at_root and n in SKIP_AT_ROOT)]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    base = tmp_path_factory.mktemp("packaging")
    src = base / "src"
    shutil.copytree(ROOT, src, ignore=_ignore, symlinks=True)
    for decoy in DECOYS:
        (src / decoy).parent.mkdir(parents=True, exist_ok=True)
        (src / decoy).write_text("not a source\n")
    out = base / "dist"
    env = dict(os.environ)
    # With it set, distutils prints "warning: byte-compiling is disabled" for
    # every build: a fact about this shell, not about the package.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(src)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=240,
    )
    output = proc.stdout.decode("utf-8", "replace")
    assert proc.returncode == 0, output
    sdists = sorted(out.glob("*.tar.gz"))
    wheels = sorted(out.glob("*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, (sdists, wheels, output)
    return Built(output, sdists[0], wheels[0])


def test_build_prints_no_warning(built: Built) -> None:
    suspicious = [line for line in built.output.splitlines()
                  if SUSPICIOUS.search(line) and not FILE_LINE.match(line)]
    assert not suspicious, "the build warned:\n" + "\n".join(suspicious)
    assert "is absent from the `packages` configuration" not in built.output


def test_twine_check_passes(built: Built) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(built.sdist), str(built.wheel)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120,
    )
    output = proc.stdout.decode("utf-8", "replace")
    assert proc.returncode == 0, output
    assert output.count("PASSED") == 2, output


def test_wheel_contents(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as wheel:
        names = set(wheel.namelist())
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = wheel.read(metadata_name).decode()
    assert "socketio_gevent/py.typed" in names
    assert "socketio_gevent/static/socket.io.js" in names
    assert "socketio_gevent/__init__.py" in names
    licenses = [n for n in names if re.search(r"\.dist-info/(licenses/)?LICENSE$", n)]
    assert licenses, sorted(names)
    # Only the package and its metadata: no tests, examples or caches.
    strays = [n for n in names if not n.startswith(("socketio_gevent/", "socketio_gevent-"))]
    assert not strays, strays
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert "Classifier: Typing :: Typed" in metadata
    assert re.search(r"^License(-Expression)?: MIT$", metadata, re.MULTILINE), metadata[:2000]


def test_sdist_contents(built: Built) -> None:
    with tarfile.open(built.sdist) as sdist:
        members = {m.name.split("/", 1)[1]: m for m in sdist.getmembers() if "/" in m.name}
    names = set(members)
    for name in ["CHANGELOG.rst", "README.rst", "LICENSE", "setup.cfg", "setup.py", "pyproject.toml",
                 "tox.ini", "run-tests", "run-example", "MANIFEST.in",
                 "socketio_gevent/py.typed", "socketio_gevent/static/socket.io.js",
                 "tests/conftest.py", "tests/integration/test_packaging.py",
                 "docs/protocol.rst", "docs/architecture.rst",
                 "example/chat.py", "example/static/chat.html",
                 "bench/run.py", "bench/node/package.json"]:
        assert name in names, name
    for directory in ["tests/unit/", "tests/integration/", "tests/browser/", "tests/js/"]:
        assert any(n.startswith(directory) for n in names), directory
    for script in ["run-tests", "run-example"]:
        assert members[script].mode & 0o111, "%s lost its executable bit" % script
    leaked = [n for n in names
              if re.search(r"(^|/)(\.venv|\.venv-peers|node_modules|__pycache__)(/|$)|\.pyc$", n)]
    assert not leaked, leaked


def test_sdist_has_every_tracked_file(built: Built) -> None:
    """MANIFEST.in names directories one by one: a new one must not be forgotten."""
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout (an unpacked sdist?): no list of tracked files to compare with")
    proc = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--", *SHIPPED_TREES],
                          stdout=subprocess.PIPE, check=True, timeout=60)
    tracked = {name for name in proc.stdout.decode().split("\0") if name and (ROOT / name).exists()}
    assert tracked, SHIPPED_TREES
    with tarfile.open(built.sdist) as sdist:
        names = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
    missing = sorted(tracked - names)
    assert not missing, "tracked but not in the sdist (add them to MANIFEST.in): %s" % missing
