"""Autobahn|Testsuite's fuzzing client against our echo app (the fast groups).

The slow groups (9.* performance, 12.*/13.* compression) run in
``bench/autobahn-full``; this test keeps the rest from regressing.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from autobahn_summary import summarise  # noqa: E402


@pytest.mark.skipif(sys.version_info < (3, 10), reason="kosoku needs Python 3.10+ (tox py39 only)")
@pytest.mark.timeout(300)
def test_autobahn_fast_groups_all_pass_with_clean_closes(tmp_path):
    kosoku = shutil.which("kosoku", path=os.path.dirname(sys.executable)) or shutil.which("kosoku")
    assert kosoku, "kosoku is a test dependency (pip install -e .[test])"
    server = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "bench", "echo_server.py"), "--port", "0"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        line = server.stdout.readline()
        port = int(line.rsplit(":", 1)[1])
        subprocess.run(
            [kosoku, "-m", "fuzzingclient", "-p", "1", "-o", str(tmp_path),
             "-x", "9.*", "-x", "12.*", "-x", "13.*", "127.0.0.1:%d" % port],
            check=True, capture_output=True, timeout=280,
        )
    finally:
        server.terminate()
        server.wait(10)
    behavior, close, bad = summarise(str(tmp_path))
    assert bad == []
    assert sum(behavior.values()) >= 240
    assert behavior.get("OK", 0) >= 240
