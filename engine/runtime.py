"""Builds the Python runtime the sandbox runs scripts with.

A venv from Debian's /usr/bin/python3, outside /root: the unprivileged sandbox
uid cannot reach a pyenv Python under /root (mode 0700). It holds boto3,
engine/mock_bridge.py with a .pth line that runs it at every start-up, and
engine/script_zygote.py, which every script is forked from.
Usage: python -m engine.runtime [--force]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from engine.sandbox import DEFAULT_RUNTIME

_REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements-sandbox.txt"
_BRIDGE = Path(__file__).with_name("mock_bridge.py")
_SCRIPT_ZYGOTE = Path(__file__).with_name("script_zygote.py")
# site runs a .pth file's `import` lines at start-up, before the script; a .pth, not
# sitecustomize.py, which Debian's own in /usr/lib/python3.11 would shadow.
BRIDGE_PTH = ("labgrader-mock-bridge.pth", "import labgrader_mock_bridge; labgrader_mock_bridge.hand_over()\n")


def runtime_is_current(runtime: Path) -> bool:
    return requirements_are_current(runtime) and bridge_is_current(runtime)


def requirements_are_current(runtime: Path) -> bool:
    stamp = runtime / "requirements-sandbox.txt"
    return stamp.exists() and stamp.read_text() == _REQUIREMENTS.read_text()


def bridge_is_current(runtime: Path) -> bool:
    """Whether the runtime hands its port to the mock, and forks scripts, as this
    checkout's engine expects (its copies of mock_bridge.py and script_zygote.py)."""
    try:
        return all(path.read_text() == text for path, text in _bridge_files(runtime))
    except OSError:
        return False


def install_bridge(runtime: Path) -> None:
    for path, text in _bridge_files(runtime):
        path.write_text(text)
        path.chmod(0o644)


def _bridge_files(runtime: Path) -> list[tuple[Path, str]]:
    [site_packages] = (runtime / "lib").glob("python3*/site-packages")
    name, line = BRIDGE_PTH
    return [
        (site_packages / "labgrader_mock_bridge.py", _BRIDGE.read_text()),
        (site_packages / name, line),
        (site_packages / "labgrader_script_zygote.py", _SCRIPT_ZYGOTE.read_text()),
    ]


def build(runtime: Path, base_python: str = "/usr/bin/python3") -> None:
    if runtime.exists():
        shutil.rmtree(runtime)
    subprocess.run([base_python, "-m", "venv", str(runtime)], check=True)
    subprocess.run(
        [str(runtime / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "-r", str(_REQUIREMENTS)],
        check=True,
    )
    install_bridge(runtime)
    shutil.copy(_REQUIREMENTS, runtime / "requirements-sandbox.txt")
    subprocess.run(["chmod", "-R", "a+rX", str(runtime)], check=True)
    for parent in runtime.parents:  # the sandbox uid must be able to traverse to it
        parent.chmod(parent.stat().st_mode | 0o001)


def main(argv: list[str]) -> int:
    runtime = Path(os.environ.get("LABGRADER_SANDBOX_RUNTIME", DEFAULT_RUNTIME))
    if "--force" not in argv and requirements_are_current(runtime):
        if bridge_is_current(runtime):
            print(f"sandbox runtime at {runtime} is current")
        else:
            install_bridge(runtime)
            print(f"sandbox runtime at {runtime}: mock bridge updated")
        return 0
    build(runtime)
    print(f"sandbox runtime built at {runtime}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
