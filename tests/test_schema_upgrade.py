"""`ivr db upgrade`, the real command: databases made by earlier releases reach today's schema with their rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from ivr.store.migrate import HEAD
from tests.databases import postgres_schema
from tests.old_releases import OldRows, older_release, previous_release
from tests.test_migrations import differences
from tests.workspace import run_ivr


class Database:
    """A database and how the command line is pointed at it: `--db FILE` for SQLite, IVR_DATABASE_URL for PostgreSQL."""

    def __init__(self, url: str, file: Path | None) -> None:
        self.url = url
        self.file = file

    def ivr(self, *args: str) -> tuple[int, str, str]:
        """Run `ivr ARGS` against this database; exit code, standard output and standard error."""
        if self.file is not None:
            done = run_ivr(*args, "--db", str(self.file), timeout=60)
        else:
            done = run_ivr(*args, env={"IVR_DATABASE_URL": self.url}, timeout=60)
        return done.returncode, done.stdout, done.stderr


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database of each kind."""
    if request.param == "sqlite":
        file = tmp_path / "hotline.sqlite3"
        yield Database(f"sqlite:///{file}", file)
    else:
        with postgres_schema() as url:
            yield Database(url, None)


def assert_rows_listed(database: Database, rows: OldRows) -> None:
    """`ivr tickets list` shows the old release's ticket."""
    code, out, err = database.ivr("tickets", "list", "--json")
    assert code == 0, err
    listed = json.loads(out)
    assert [(t["number"], t["call_id"], t["description"]) for t in listed] == [(rows.ticket_number, rows.call_id, "发票抬头错了")]


@pytest.mark.parametrize("release", [previous_release, older_release], ids=["previous-release", "older-release"])
def test_db_upgrade_brings_an_old_database_to_the_current_schema(database: Database, release: object) -> None:
    """A database from before migrations is upgraded by the command, keeps its rows, and a second run has nothing to do."""
    rows = release(database.url)  # type: ignore[operator]
    code, out, err = database.ivr("db", "upgrade")
    assert code == 0, err
    assert out.strip().endswith(f": upgraded unversioned -> {HEAD}"), out
    assert out.startswith("database at ")
    assert differences(database.url) == []
    engine = create_engine(database.url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT call_sid, called, duration FROM calls")).all() == [(rows.call_id, rows.called, 180)]
        assert conn.execute(text("SELECT menu_id FROM menu_versions")).scalars().all() == ["volcengine"]
    engine.dispose()
    assert_rows_listed(database, rows)

    code, out, err = database.ivr("db", "upgrade")
    assert code == 0, err
    assert out.strip().endswith(f": already current ({HEAD})"), out


def test_db_upgrade_from_the_baseline_names_both_revisions(database: Database) -> None:
    """A database stamped at the baseline is reported as going from it to head."""
    previous_release(database.url)
    engine = create_engine(database.url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('0001')"))
    engine.dispose()
    code, out, err = database.ivr("db", "upgrade")
    assert code == 0, err
    assert out.strip().endswith(f": upgraded 0001 -> {HEAD}"), out
    assert differences(database.url) == []


def test_db_upgrade_creates_a_new_database(database: Database) -> None:
    """On an empty database the command creates the schema at head."""
    code, out, err = database.ivr("db", "upgrade")
    assert code == 0, err
    assert out.strip().endswith(f": created at {HEAD}"), out
    assert differences(database.url) == []


def test_db_upgrade_refuses_a_revision_it_does_not_know(database: Database) -> None:
    """A database a newer release upgraded: exit 2 with the revision named, and the database left as it was."""
    assert database.ivr("db", "upgrade")[0] == 0
    engine = create_engine(database.url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    code, out, err = database.ivr("db", "upgrade")
    assert code == 2, out
    assert "revision '0099', which this release does not know" in err
    assert "Traceback" not in err
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0099"
    engine.dispose()


def test_db_upgrade_on_an_unreachable_database_fails_clearly(tmp_path: Path) -> None:
    """No server, or a SQLite file that cannot be opened: exit 2 with the database named (no password) and why."""
    done = run_ivr("db", "upgrade", env={"IVR_DATABASE_URL": "postgresql+psycopg://postgres:secret@127.0.0.1:1/hotline"}, timeout=60)
    assert done.returncode == 2, done.stdout
    assert "postgresql+psycopg://postgres:***@127.0.0.1:1/hotline" in done.stderr
    assert "secret" not in done.stderr and "Traceback" not in done.stderr

    blocker = tmp_path / "file"
    blocker.write_text("not a database")
    done = run_ivr("db", "upgrade", "--db", str(blocker), timeout=60)
    assert done.returncode == 2, done.stdout
    assert "Traceback" not in done.stderr
    assert str(blocker) in done.stderr and "not a database" in done.stderr, done.stderr
