"""Every component's console script exists and answers --help (also in a fresh process)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = ["safegrid-edge", "safegrid-cloud", "safegrid-sim", "safegrid-provision"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_console_script_help(script: str) -> None:
    exe = shutil.which(script) or str(Path(sys.executable).parent / script)
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.startswith(f"usage: {script}")


def test_edge_never_imports_cloud_and_vice_versa() -> None:
    root = Path(__file__).resolve().parent.parent
    offenders = []
    for pkg, forbidden in (("edge", "cloud"), ("cloud", "edge"), ("protocols", "edge"), ("protocols", "cloud"),
                           ("protocols", "fwsim"), ("edge", "fwsim"), ("cloud", "fwsim")):
        for path in (root / pkg).rglob("*.py"):
            for line in path.read_text(encoding="utf-8").splitlines():
                stripped = line.strip()
                if stripped.startswith((f"import {forbidden}", f"from {forbidden} ", f"from {forbidden}.")):
                    offenders.append(f"{path.relative_to(root)}: {stripped}")
    assert offenders == []
