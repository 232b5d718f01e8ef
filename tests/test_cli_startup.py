"""What `ivr` says before any sub-command runs: its version, its usage errors, and what it loads to say them."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from importlib.metadata import version
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.config import Settings
from tests.conftest import ROOT

# The argparse dest names the parser used to show users in place of a word.
INTERNAL_NAME = re.compile(r"\b(command|menu_command|qa_command|audio_command|tickets_command)\b")


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`ivr --version` prints the installed package's version and exits 0."""
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"ivr {version('ivr')}\n"


@pytest.mark.parametrize("argv", [[], ["menu"], ["qa"], ["audio"], ["tickets"]], ids=lambda a: " ".join(["ivr", *a]))
def test_missing_sub_command_names_no_internal_identifier(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """A missing sub-command is a usage error (exit 2) that asks for a COMMAND, not for an argparse dest name."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "the following arguments are required: COMMAND" in err
    assert not INTERNAL_NAME.search(err), err


@pytest.mark.parametrize("argv", [[], ["menu"], ["qa"], ["audio"], ["tickets"]], ids=lambda a: " ".join(["ivr", *a, "--help"]))
def test_help_names_no_internal_identifier(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """`--help` at every level lists the sub-commands without an argparse dest name."""
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "COMMAND" in out
    assert not INTERNAL_NAME.search(out), out


def loaded_after(code: str) -> list[str]:
    """Run `code` in a fresh interpreter and return the database-layer modules it left loaded."""
    probe = f"{code}\nimport sys\nprint(*sorted(m for m in sys.modules if m.startswith(('sqlalchemy', 'ivr.store'))))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_config_does_not_import_the_database_layer() -> None:
    """Importing ivr.config loads neither SQLAlchemy nor ivr.store."""
    assert loaded_after("import ivr.config") == []


def test_settings_still_build_a_sqlite_url(tmp_path: Path) -> None:
    """Settings.store_url is a SQLite URL for the configured file when no database URL is set."""
    path = tmp_path / "sub" / "ivr.sqlite3"
    assert Settings(sqlite_path=str(path)).store_url() == f"sqlite:///{path.resolve()}"
    assert Settings(database_url="postgresql://db/ivr").store_url() == "postgresql://db/ivr"


def test_help_does_not_load_sqlalchemy() -> None:
    """`ivr --help` builds the parser and prints usage without loading SQLAlchemy or the store."""
    code = textwrap.dedent(
        """
        import contextlib, io
        from ivr.cli import main
        with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):
            main(["--help"])
        """
    )
    assert loaded_after(code) == []
