"""Runs the browser client's Node unit tests (tests/js/) inside the Python suite.

The client's pure parts (frame decoder, message bodies, base64, the
multipart part parser, outbox packing) and its Socket state machine over
fake transports are tested in JavaScript, where they run; this wrapper makes ``pytest`` fail when they do. Skipped on a
developer's machine without Node, never in CI (``CI`` set), where Node is
part of the machine.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MIN_TESTS = 40


@pytest.mark.skipif(
    shutil.which("node") is None and not os.environ.get("CI"), reason="node is not installed"
)
def test_client_js_unit_tests_pass() -> None:
    result = subprocess.run(
        ["node", "--test", os.path.join("tests", "js") + os.sep],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    passed = re.search(r"^# pass (\d+)$", output, re.MULTILINE)
    assert passed is not None, output
    assert int(passed.group(1)) >= MIN_TESTS, output
    failed = re.search(r"^# fail (\d+)$", output, re.MULTILINE)
    assert failed is not None and int(failed.group(1)) == 0, output
