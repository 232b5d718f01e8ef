"""Schema revisions: new and old databases end at the declared schema, once, one host at a time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from ivr.store import Store, migrate
from ivr.store.migrate import HEAD, REVISIONS, SchemaError
from ivr.store.schema import metadata
from tests.databases import postgres_schema
from tests.old_releases import OldRows, older_release, previous_release, upgraded_in_place


def differences(url: str) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match ivr.store.schema (types and server defaults too)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def columns(url: str, table: str) -> dict[str, dict[str, Any]]:
    """The table's columns as the database reports them."""
    engine = create_engine(url)
    try:
        return {c["name"]: c for c in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def scalar(url: str, sql: str) -> Any:
    """One value read with plain SQL."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def assert_old_rows_kept(url: str, rows: OldRows) -> None:
    """The old release's ticket, call and menu version read back through today's stores, and the call can still be closed."""
    store = Store(url)
    try:
        ticket = store.tickets.find(rows.ticket_number)
        assert ticket is not None
        assert (ticket.call_id, ticket.caller, ticket.category) == (rows.call_id, rows.caller, "billing")
        assert ticket.description == "发票抬头错了"
        call = store.calls.load(rows.call_id)
        assert call is not None
        assert (call.seq, call.snapshot.node, call.snapshot.menu_version) == (3, "main", rows.menu_version)
        version = store.menus.load(rows.menu_version)
        assert version is not None
        assert version.menu_id == "volcengine"
    finally:
        store.close()


def test_revision_list_matches_the_scripts() -> None:
    """migrate.REVISIONS (read without loading Alembic) is the scripts' chain, oldest first, ending at their head."""
    scripts = ScriptDirectory.from_config(migrate._config())
    assert tuple(reversed([s.revision for s in scripts.walk_revisions()])) == REVISIONS
    assert migrate.head() == HEAD == REVISIONS[-1]


def test_a_new_database_is_created_at_head_as_declared(database_url: str) -> None:
    """Opening an empty database creates the declared tables, stamped at head."""
    store = Store(database_url)
    try:
        assert migrate.current(store.engine) == HEAD
        assert migrate.is_current(store.engine)
    finally:
        store.close()
    assert differences(database_url) == []


def test_running_every_revision_on_an_empty_database_gives_the_declared_schema(database_url: str) -> None:
    """The revisions themselves (not the new-database shortcut) build exactly what ivr.store.schema declares."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            config = migrate._config()
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        assert migrate.current(engine) == HEAD
    finally:
        engine.dispose()
    assert differences(database_url) == []


def test_previous_release_database_is_upgraded_with_its_rows(database_url: str) -> None:
    """Tables made before migrations, without a version table, get the baseline then 0002; nothing is lost."""
    rows = previous_release(database_url)
    assert migrate.upgrade(database_url) == list(REVISIONS)
    assert differences(database_url) == []
    assert_old_rows_kept(database_url, rows)


def test_older_release_database_gets_wide_columns_and_loaded_at(database_url: str) -> None:
    """VARCHAR(64) call ids and numbers are widened and menu_versions.loaded_at added; a long call id then fits."""
    rows = older_release(database_url)
    assert migrate.upgrade(database_url) == list(REVISIONS)
    assert differences(database_url) == []
    found = columns(database_url, "calls")
    assert found["call_sid"]["type"].length == 256
    assert "loaded_at" in columns(database_url, "menu_versions")
    assert_old_rows_kept(database_url, rows)
    long_sid = "CA" + "7" * 200  # over the old 64 characters: PostgreSQL would have refused it
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO calls (call_sid, caller, called, menu_version, snapshot, seq, last_response, status, started_at) "
                "VALUES (:sid, '', '', 'v', '{}', 1, '', 'in-progress', CURRENT_TIMESTAMP)"
            ),
            {"sid": long_sid},
        )
    engine.dispose()
    assert scalar(database_url, f"SELECT count(*) FROM calls WHERE call_sid = '{long_sid}'") == 1


def test_columns_the_old_start_up_upgrade_left_nullable_become_not_null(database_url: str) -> None:
    """`called`, added nullable by the previous release, is NOT NULL as declared; the call stored before it holds ''."""
    rows = upgraded_in_place(database_url)
    assert columns(database_url, "calls")["called"]["nullable"] is True
    migrate.upgrade(database_url)
    assert differences(database_url) == []
    assert columns(database_url, "calls")["called"]["nullable"] is False
    assert scalar(database_url, f"SELECT called FROM calls WHERE call_sid = '{rows.call_id}'") == ""
    engine = create_engine(database_url)
    with engine.begin() as conn, pytest.raises(IntegrityError):
        conn.execute(text("UPDATE calls SET called = NULL"))
    engine.dispose()


def test_added_not_null_columns_get_values_for_existing_rows(database_url: str) -> None:
    """A NOT NULL column missing from an old table is added with what its declaration defaults to, for the rows already there."""
    rows = upgraded_in_place(database_url)
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE calls DROP COLUMN called"))  # as before the column existed at all
    engine.dispose()
    migrate.upgrade(database_url)
    assert differences(database_url) == []
    assert scalar(database_url, f"SELECT called FROM calls WHERE call_sid = '{rows.call_id}'") == ""
    assert columns(database_url, "calls")["called"]["default"] is None  # the fill value does not stay as a server default


def test_upgrading_twice_changes_nothing(database_url: str) -> None:
    """A second upgrade applies nothing and leaves one version row."""
    previous_release(database_url)
    assert migrate.upgrade(database_url) == list(REVISIONS)
    assert migrate.upgrade(database_url) == []
    assert scalar(database_url, "SELECT count(*) FROM alembic_version") == 1
    assert scalar(database_url, "SELECT version_num FROM alembic_version") == HEAD
    assert differences(database_url) == []


def test_an_old_database_is_upgraded_when_a_store_opens_it(database_url: str) -> None:
    """open_database (every command, every worker) brings an old database to head on its own."""
    rows = older_release(database_url)
    store = Store(database_url)
    try:
        assert migrate.current(store.engine) == HEAD
    finally:
        store.close()
    assert differences(database_url) == []
    assert_old_rows_kept(database_url, rows)


def test_a_revision_this_release_does_not_know_is_refused(database_url: str) -> None:
    """A database a newer release upgraded is left alone, with an error that says why."""
    Store(database_url).close()
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    with pytest.raises(SchemaError, match=r"revision '0099', which this release does not know"):
        migrate.upgrade(database_url)
    with pytest.raises(SchemaError, match=r"cannot open the ticket store: .*'0099'"):
        Store(database_url)
    assert scalar(database_url, "SELECT version_num FROM alembic_version") == "0099"


def test_hosts_upgrading_at_once_take_turns(database_url: str) -> None:
    """Four hosts upgrading one old database together: one applies the revisions, the others find it done."""
    rows = previous_release(database_url)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: migrate.upgrade(database_url), range(4)))
    assert sorted(results) == [[], [], [], list(REVISIONS)]
    assert differences(database_url) == []
    assert_old_rows_kept(database_url, rows)


def test_new_database_opened_by_several_hosts_at_once(database_url: str) -> None:
    """Four first opens of one empty database: it is created once, and every open succeeds."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        stores = list(pool.map(lambda _: Store(database_url), range(4)))
    for store in stores:
        store.close()
    assert scalar(database_url, "SELECT count(*) FROM alembic_version") == 1
    assert differences(database_url) == []


def test_version_table_is_in_the_connections_schema() -> None:
    """On PostgreSQL with a private search_path, alembic_version lives in that schema beside the tables."""
    with postgres_schema() as database_url:
        _version_table_beside_tables(database_url)


def _version_table_beside_tables(database_url: str) -> None:
    Store(database_url).close()
    private = scalar(database_url, "SELECT current_schema()")
    assert private != "public"
    for table in ("alembic_version", "tickets"):
        found = scalar(database_url, f"SELECT string_agg(table_schema, ',') FROM information_schema.tables WHERE table_name = '{table}'")
        assert private in found.split(","), (table, found)


def test_0002_can_be_undone_and_redone(database_url: str) -> None:
    """Downgrading to the baseline drops the new tables; upgrading again restores the declared schema."""
    previous_release(database_url)
    migrate.upgrade(database_url)
    engine = create_engine(database_url)
    with engine.begin() as conn:
        config = migrate._config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
    assert migrate.current(engine) == "0001"
    assert not inspect(engine).has_table("call_steps")
    engine.dispose()
    assert migrate.upgrade(database_url) == list(REVISIONS[1:])
    assert differences(database_url) == []


def test_unreachable_database_is_a_schema_error() -> None:
    """No server at the address: a SchemaError naming the database (password hidden) and the driver's reason."""
    with pytest.raises(SchemaError, match=r"postgres:\*\*\*@127\.0\.0\.1:1/x: .*(refused|connect)"):
        migrate.upgrade("postgresql+psycopg://postgres:secret@127.0.0.1:1/x")


def test_serve_upgrades_at_start_and_says_so(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """upgrade_at_start (called first thing by `ivr serve`) upgrades an old database and reports it on stderr."""
    rows = previous_release(database_url)
    migrate.upgrade_at_start(database_url)
    assert capsys.readouterr().err.strip().endswith(f": upgraded unversioned -> {HEAD}")
    assert differences(database_url) == []
    assert_old_rows_kept(database_url, rows)
    migrate.upgrade_at_start(database_url)
    assert capsys.readouterr().err.strip().endswith(f": already current ({HEAD})")


def test_serve_start_reports_an_unreachable_database_and_stops_on_a_newer_schema(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """No database: a warning line and no error (the outage handling decides). A newer schema: SchemaError."""
    migrate.upgrade_at_start("postgresql+psycopg://postgres@127.0.0.1:1/x")
    assert "ivr serve: schema not checked: cannot read the schema version" in capsys.readouterr().err
    Store(database_url).close()
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    with pytest.raises(SchemaError, match="does not know"):
        migrate.upgrade_at_start(database_url)


def test_0003_keeps_calls_of_a_0002_database(database_url: str) -> None:
    """A database at 0002 gets the call history: its calls came in by Twilio and are undecided; their story starts empty."""
    rows = previous_release(database_url)
    engine = create_engine(database_url)
    with engine.begin() as conn:
        config = migrate._config()
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")
    engine.dispose()
    assert migrate.upgrade(database_url) == list(REVISIONS[2:])  # 0003 and every revision after it
    assert differences(database_url) == []
    assert_old_rows_kept(database_url, rows)
    store = Store(database_url)
    try:
        (call,) = [c for c in store.history.calls() if c.call_sid == rows.call_id]
        assert (call.channel, call.outcome) == ("twilio", None)
        assert store.history.lines(rows.call_id) == []
    finally:
        store.close()
    assert "twilio" in str(columns(database_url, "calls")["channel"]["default"])  # a host of the release before can still insert


def test_0004_keeps_tickets_of_a_0003_database(database_url: str) -> None:
    """A database at 0003 gets the outbox: its tickets stay open and unclosed, with no deliveries (they predate the hand-off)."""
    rows = previous_release(database_url)
    engine = create_engine(database_url)
    with engine.begin() as conn:
        config = migrate._config()
        config.attributes["connection"] = conn
        command.upgrade(config, "0003")
    engine.dispose()
    assert migrate.upgrade(database_url) == list(REVISIONS[3:])
    assert differences(database_url) == []
    assert_old_rows_kept(database_url, rows)
    store = Store(database_url)
    try:
        ticket = store.tickets.find_by_call(rows.call_id)
        assert ticket is not None and (ticket.status, ticket.closed_at, ticket.close_note) == ("open", None, "")
        assert store.outbox.listing() == []
    finally:
        store.close()
