"""The project as a user has it: running the `ivr` command, and a private copy of the menu workspace."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def ivr_command() -> list[str]:
    """How to run the `ivr` console script of this environment."""
    script = Path(sys.executable).with_name("ivr")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ivr.cli"]


def ivr_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without the developer's own IVR_* and TWILIO_* settings, plus `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("IVR_", "TWILIO_"))}
    clean.update(env or {})
    return clean


def run_ivr(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    stdin: str | None = None,
    timeout: float = 120,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run `ivr ARGS` in the project folder (IVR_* and TWILIO_* settings only from `env`) and capture its text output."""
    return subprocess.run(
        [*ivr_command(), *args], cwd=cwd, env=ivr_env(env), input=stdin, capture_output=True, text=True, timeout=timeout, check=check
    )


def copy_workspace(dest: Path) -> Path:
    """Copy menus/ and scope/ into `dest` (their relative links keep working) and return the copied shipped menu."""
    for folder in ("menus", "scope"):
        shutil.copytree(ROOT / folder, dest / folder)
    return dest / "menus" / "volcengine.yaml"
