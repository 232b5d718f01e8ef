"""The databases tests run against: a SQLite file always, PostgreSQL when one is reachable.

CI sets IVR_REQUIRE_POSTGRES=1, so a missing server fails the run instead of skipping.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

POSTGRES_URL = os.environ.get("IVR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRED = os.environ.get("IVR_REQUIRE_POSTGRES") == "1"


def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used here, or None."""
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except (OperationalError, ImportError) as exc:
        return f"PostgreSQL at {POSTGRES_URL} is not reachable ({str(exc).splitlines()[0][:120]})"
    return None


_PROBLEM = postgres_problem()


def require_postgres() -> None:
    """Skip (or, on CI, fail) when PostgreSQL is not there."""
    if _PROBLEM is not None:
        if REQUIRED:
            pytest.fail(f"IVR_REQUIRE_POSTGRES=1 but {_PROBLEM}")
        pytest.skip(_PROBLEM)


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL whose connections use a fresh, private schema; dropped afterwards."""
    require_postgres()
    with private_schema(POSTGRES_URL) as (url, _schema):
        yield url


@contextmanager
def private_schema(server_url: str, prefix: str = "t") -> Iterator[tuple[str, str]]:
    """A URL on `server_url` whose connections use a fresh schema, and the schema's name; the schema is dropped afterwards."""
    schema = f"{prefix}_{secrets.token_hex(6)}"
    admin = create_engine(server_url)
    with admin.begin() as conn:
        conn.execute(text(f"create schema {schema}"))
    separator = "&" if "?" in server_url else "?"
    try:
        yield f"{server_url}{separator}options={quote(f'-csearch_path={schema}')}", schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"drop schema {schema} cascade"))
        admin.dispose()
