"""Builds the Python runtime the sandbox runs scripts with.

A venv from Debian's /usr/bin/python3, outside /root: the unprivileged sandbox
uid cannot reach a pyenv Python under /root (mode 0700). It holds boto3 only.
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


def runtime_is_current(runtime: Path) -> bool:
    stamp = runtime / "requirements-sandbox.txt"
    return stamp.exists() and stamp.read_text() == _REQUIREMENTS.read_text()


def build(runtime: Path, base_python: str = "/usr/bin/python3") -> None:
    if runtime.exists():
        shutil.rmtree(runtime)
    subprocess.run([base_python, "-m", "venv", str(runtime)], check=True)
    subprocess.run(
        [str(runtime / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "-r", str(_REQUIREMENTS)],
        check=True,
    )
    shutil.copy(_REQUIREMENTS, runtime / "requirements-sandbox.txt")
    subprocess.run(["chmod", "-R", "a+rX", str(runtime)], check=True)
    for parent in runtime.parents:  # the sandbox uid must be able to traverse to it
        parent.chmod(parent.stat().st_mode | 0o001)


def main(argv: list[str]) -> int:
    runtime = Path(os.environ.get("LABGRADER_SANDBOX_RUNTIME", DEFAULT_RUNTIME))
    if "--force" not in argv and runtime_is_current(runtime):
        print(f"sandbox runtime at {runtime} is current")
        return 0
    build(runtime)
    print(f"sandbox runtime built at {runtime}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
