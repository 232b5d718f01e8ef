"""Menu versions in the database: the files each version was built from, so any worker can rebuild it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, Select, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ivr.errors import ServiceError
from ivr.ir import Menu
from ivr.store.guard import Database
from ivr.store.schema import menu_versions
from ivr.store.tickets import utc


@dataclass(frozen=True)
class StoredVersion:
    """A menu version as stored."""

    version: str
    menu_id: str
    entry: str
    files: dict[str, str]
    created_at: datetime
    published_at: datetime | None


class MenuVersionStore:
    """Stores the source files of every menu version that served a call."""

    def __init__(self, database: Engine | Database) -> None:
        self.db = database if isinstance(database, Database) else Database(database)

    def save(self, menu: Menu, published: bool = False) -> bool:
        """Store a version's files (once); True when it was new."""
        if menu.recordings:
            # Recordings are audio files, not text: other hosts could not rebuild this version from the database.
            raise ServiceError("menus with prerecorded prompts cannot be stored for other hosts yet; render audio on each host")
        paths = [Path(menu.source), *(Path(f) for f in menu.files)]
        root = Path(os.path.commonpath([str(p.resolve().parent) for p in paths]))
        # The text the version was loaded from, not the files now: they may have been edited since.
        files = {Path(name).resolve().relative_to(root).as_posix(): text for name, text in menu.sources.items()}
        now = datetime.now(UTC)
        row = {
            "version": menu.version,
            "menu_id": menu.id,
            "entry": Path(menu.source).resolve().relative_to(root).as_posix(),
            "files": json.dumps(files, ensure_ascii=False, sort_keys=True),
            "created_at": now,
            "published_at": now if published else None,
            "loaded_at": now,
        }
        try:
            with self.db.connect() as conn:
                conn.execute(insert(menu_versions).values(**row))
            return True
        except IntegrityError:
            self._touch(menu.version, now)
            return False

    def _touch(self, version: str, now: datetime) -> None:
        """A version stored before was loaded cleanly again (an edit reverted): it is the newest good one now."""
        with self.db.connect() as conn:
            conn.execute(update(menu_versions).where(menu_versions.c.version == version).values(loaded_at=now))

    def publish(self, menu: Menu) -> None:
        """Store the version if new and mark it published now: every worker switches to it."""
        self.save(menu, published=True)
        self.mark_published(menu.version)

    def mark_published(self, version: str) -> bool:
        """Make a stored version the newest published one (publish again, or roll back to it)."""
        with self.db.connect() as conn:
            query = update(menu_versions).where(menu_versions.c.version == version)
            result = conn.execute(query.values(published_at=datetime.now(UTC)))
        return result.rowcount == 1

    def newest_published(self, menu_id: str) -> str | None:
        """The version of `menu_id` published last, if any was."""
        query = (
            select(menu_versions.c.version)
            .where(menu_versions.c.menu_id == menu_id, menu_versions.c.published_at.is_not(None))
            .order_by(menu_versions.c.published_at.desc())
            .limit(1)
        )
        return self._first(query)

    def _first(self, query: Select[tuple[str]]) -> str | None:
        """The first version a query finds."""
        with self.db.connect() as conn:
            found = conn.execute(query).scalar_one_or_none()
            return str(found) if found is not None else None

    def list_versions(self) -> list[StoredVersion]:
        """Every stored version, newest first (files not included)."""
        c = menu_versions.c
        query = select(c.version, c.menu_id, c.entry, c.created_at, c.published_at)
        with self.db.connect() as conn:
            rows = conn.execute(query.order_by(menu_versions.c.created_at.desc())).mappings().all()
        out = []
        for r in rows:
            published = utc(r["published_at"]) if r["published_at"] else None
            out.append(StoredVersion(r["version"], r["menu_id"], r["entry"], {}, utc(r["created_at"]), published))
        return out

    def newest(self, menu_id: str) -> str | None:
        """The version of `menu_id` loaded cleanly last, by any worker (a version reverted to counts from then)."""
        c = menu_versions.c
        query = select(c.version).where(c.menu_id == menu_id).order_by(func.coalesce(c.loaded_at, c.created_at).desc(), c.version).limit(1)
        return self._first(query)

    def load(self, version: str) -> StoredVersion | None:
        """A stored version, or None."""
        with self.db.connect() as conn:
            row = conn.execute(select(menu_versions).where(menu_versions.c.version == version)).mappings().first()
        if row is None:
            return None
        return StoredVersion(
            version=row["version"],
            menu_id=row["menu_id"],
            entry=row["entry"],
            files=json.loads(row["files"]),
            created_at=utc(row["created_at"]),
            published_at=utc(row["published_at"]) if row["published_at"] else None,
        )
