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


def test_nothing_outside_the_tests_imports_them() -> None:
    """The demo, the benchmarks and the product take the simulated site from ``fwsim.stage``/``fwsim.rig``: a fresh
    install without tests/ must run them."""
    root = Path(__file__).resolve().parent.parent
    skip = {"tests", ".venv", "build", ".git"}
    offenders = []
    for path in root.rglob("*.py"):
        if skip & set(path.relative_to(root).parts):
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith(("import tests", "from tests ", "from tests.")):
                offenders.append(f"{path.relative_to(root)}: {stripped}")
    assert offenders == []


def test_device_simulators_load_without_edge_cloud_or_the_stage() -> None:
    """``safegrid[sim]`` alone runs the device simulators: importing them loads neither edge nor cloud (the staged
    site, which does, is imported only on demand)."""
    code = ("import sys, fwsim.gas, fwsim.lock, fwsim.phone, fwsim.cli, fwsim.rig.serial_line, fwsim.rig.mosquitto\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'edge', 'cloud', 'tests'}), "
            "sorted(m for m in sys.modules if m.startswith('fwsim.stage')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True,
                         cwd=Path(__file__).resolve().parent.parent / "firmware-sim")
    assert out.stdout.split() == ["[]", "[]"]
