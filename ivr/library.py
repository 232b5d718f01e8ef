"""The menu versions a process serves: reloaded when their files change, never replaced by a broken edit,
following the newest published version, and rebuilt from the database for calls that started elsewhere.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ivr.engine.engine import Engine
from ivr.errors import DefinitionError, ServiceError
from ivr.ir import Menu
from ivr.loading.menu_loader import load_menu
from ivr.store.menus import MenuVersionStore

log = logging.getLogger(__name__)

KEEP_VERSIONS = 16  # older versions stay loaded for calls that started on them
STORED_ROOT = Path("/ivr-stored-version")  # where a stored version's files seem to lie (they are only read from memory)


class MenuLibrary:
    """Engines by menu version: the newest good one for new calls, the one a call started on for the rest."""

    def __init__(
        self,
        path: str,
        build: Callable[[Menu], Engine],
        interval: float = 1.0,
        versions: MenuVersionStore | None = None,
    ) -> None:
        self.path = path
        self.build = build
        self.interval = interval  # seconds between checks of the files; 0 turns reloading off
        self.versions = versions  # shared with other workers and hosts, so any of them can continue any call
        self._unbuildable: set[str] = set()
        self.engines: OrderedDict[str, Engine] = OrderedDict()
        self.lock = threading.Lock()
        self.error: str | None = None
        self.source = "file"  # or "published": a version chosen with `ivr menu publish` / `rollback`
        self.loaded_at = datetime.now(UTC)
        self._checked = time.monotonic()
        started = time.time_ns()
        engine = build(load_menu(path))  # the first load must succeed: there is nothing to fall back to
        self.current_version = engine.menu.version
        self.engines[self.current_version] = engine
        self._remember(engine.menu)
        self._watched = (engine.menu.source, *engine.menu.files)  # the files of the menu on disk, whatever is in service
        self._stamp = self._stamps(self._watched)
        if any(mtime >= started for _, mtime, _ in self._stamp):
            self._stamp = ()  # a file changed while it was being read: look again at the next check
        published = self._published(engine.menu.id)
        if published is not None:
            self.source = "published"
            with self.lock:
                self._switch(published)

    @staticmethod
    def _stamps(files: tuple[str, ...]) -> tuple[tuple[str, int, int], ...]:
        out = []
        for file in files:
            try:
                st = os.stat(file)
                out.append((file, st.st_mtime_ns, st.st_size))
            except OSError:
                out.append((file, -1, -1))
        return tuple(out)

    def current(self) -> Engine:
        """The engine new calls get (after a reload check, at most once per interval)."""
        # One thread checks while the others go on serving the version in service (a check may ask the database).
        if self.interval > 0 and time.monotonic() - self._checked >= self.interval and self.lock.acquire(blocking=False):
            try:
                if time.monotonic() - self._checked >= self.interval:
                    self._refresh_locked()
            finally:
                self.lock.release()
        return self.engines[self.current_version]

    def in_service(self) -> Engine:
        """The engine new calls get, without a reload check (which may ask the database): for the fallback path."""
        return self.engines[self.current_version]

    def _published(self, menu_id: str) -> str | None:
        """The newest version published with `ivr menu publish` (or rolled back to), if any."""
        if self.versions is None:
            return None
        try:
            return self.versions.newest_published(menu_id)
        except ServiceError as exc:
            log.warning("cannot ask the database for the published menu version: %s", exc)
            return None

    def _switch(self, version: str) -> bool:
        """Serve `version` (the lock is held)."""
        if version == self.current_version:
            return False
        engine = self.engines.get(version) or self._build_stored(version)
        if engine is None:
            return False
        self.engines.move_to_end(version)
        self.current_version = version
        self.loaded_at = datetime.now(UTC)
        log.info("menu version %s in service (%s)", version, self.source)
        return True

    def _catch_up(self, menu_id: str) -> bool:
        """After a refused edit, serve the newest version any worker loaded cleanly (this one may have missed it)."""
        if self.versions is None:
            return False
        try:
            newest = self.versions.newest(menu_id)
        except ServiceError as exc:
            log.warning("cannot ask the database for the last good menu version: %s", exc)
            return False
        if newest is None:
            return False
        return self._switch(newest)

    def _remember(self, menu: Menu) -> None:
        if self.versions is None:
            return
        try:
            self.versions.save(menu)
        except (ServiceError, OSError) as exc:  # calls still work on this worker; others may not rebuild this version
            log.warning("could not store menu version %s: %s", menu.version, exc)

    def for_version(self, version: str) -> Engine:
        """The engine of a call in progress: its own version (loaded here, or rebuilt from the database)."""
        engine = self.engines.get(version) or self._rebuild(version)
        if engine is None:
            log.warning("menu version %s is not available; continuing the call on %s", version, self.current_version)
            return self.current()
        return engine

    def _rebuild(self, version: str) -> Engine | None:
        """Build a version another worker loaded, for a call in progress."""
        with self.lock:
            return self.engines.get(version) or self._build_stored(version)

    def _build_stored(self, version: str) -> Engine | None:
        """Build a version from the files stored with it (the lock is held)."""
        if self.versions is None or version in self._unbuildable:
            return None
        try:
            stored = self.versions.load(version)
            if stored is None:
                return None
            # The version's own files, read from memory: nothing is written to disk to rebuild it.
            root = STORED_ROOT / version
            texts = {str(root / relative): text for relative, text in stored.files.items()}
            engine = self.build(load_menu(root / stored.entry, sources=texts))
        except (ServiceError, DefinitionError, OSError) as exc:
            if not isinstance(exc, ServiceError):  # a broken stored version stays broken: do not retry every second
                self._unbuildable.add(version)
            self.error = f"menu version {version} cannot be built here: {exc}"
            log.error("could not rebuild menu version %s: %s", version, exc)
            return None
        self._add(engine)
        log.info("menu version %s rebuilt from the database", version)
        return engine

    def _add(self, engine: Engine) -> None:
        version = engine.menu.version
        self.engines[version] = engine
        self.engines.move_to_end(version)
        for old in list(self.engines):
            if len(self.engines) <= KEEP_VERSIONS:
                break
            if old in (self.current_version, version):
                continue  # never evict what new calls are being given
            del self.engines[old]

    def refresh(self) -> bool:
        """Follow the newest published version, else the files; True when a new version was taken into service."""
        with self.lock:
            return self._refresh_locked()

    def _refresh_locked(self) -> bool:
        """`refresh`, with the lock held."""
        self._checked = time.monotonic()
        current = self.engines[self.current_version].menu
        published = self._published(current.id)
        if published is not None:
            self.source = "published"
            return self._switch(published)
        self.source = "file"
        stamp = self._stamps(self._watched)
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            engine = self.build(load_menu(self.path))
        except DefinitionError as exc:
            self.error = str(exc)
            log.error("menu edit refused, still serving the last good version:\n%s", exc)
            return self._catch_up(current.id)
        except OSError as exc:  # the file is being replaced right now; try again at the next check
            self._stamp = ()
            log.warning("menu reload postponed: %s", exc)
            return False
        self.error = None
        self._watched = (engine.menu.source, *engine.menu.files)
        version = engine.menu.version
        if version == self.current_version:
            return False
        self._remember(engine.menu)
        self._add(engine)
        self.current_version = version
        self.loaded_at = datetime.now(UTC)
        log.info("menu version %s in service (%s)", version, self.path)
        return True

    def status(self) -> dict[str, Any]:
        """For /healthz: the version in service and the last refused edit, if any."""
        menu = self.engines[self.current_version].menu
        status: dict[str, Any] = {
            "id": menu.id,
            "version": menu.version,
            "nodes": len(menu.nodes),
            "loaded_at": self.loaded_at.isoformat(),
            "versions_loaded": len(self.engines),
            "source": self.source,
        }
        if self.error:
            status["reload_error"] = self.error
        return status
