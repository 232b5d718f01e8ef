"""Finding rendered audio for a prompt at call time, from the manifest (re-read when it changes)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from ivr.audio.manifest import MANIFEST_NAME, AudioManifest, Entry, ManifestError


class AudioIndex:
    """(lang, text) → rendered entry; checks the manifest for changes at most once per `interval` seconds."""

    def __init__(self, audio_dir: str | Path, interval: float = 1.0) -> None:
        self.audio_dir = Path(audio_dir)
        self.interval = interval
        self._entries: dict[tuple[str, str], Entry] = {}
        self._mtime: int | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < self.interval:
            return
        with self._lock:
            self._checked = now
            path = self.audio_dir / MANIFEST_NAME
            try:
                mtime = path.stat().st_mtime_ns
            except OSError:
                self._entries, self._mtime = {}, None
                return
            if mtime == self._mtime:
                return
            try:
                manifest = AudioManifest.load(self.audio_dir)
            except (ManifestError, OSError):
                return  # a half-written manifest: keep what we had and look again later
            entries: dict[tuple[str, str], Entry] = {}
            for entry in sorted(manifest, key=lambda e: (e.source != "recording", e.key), reverse=True):
                entries[(entry.lang, entry.text)] = entry  # recordings win: they are written last
            self._entries, self._mtime = entries, mtime

    @property
    def generation(self) -> int | None:
        """Changes whenever the manifest read changes (its modification time), for caches built on it."""
        self._refresh()
        return self._mtime

    def lookup(self, lang: str, text: str) -> Entry | None:
        """The rendered audio for this text, if any."""
        self._refresh()
        return self._entries.get((lang, text))

    def telephone_names(self) -> frozenset[str]:
        """The 8 kHz files the manifest lists (paths under the audio folder): the only ones a <Play> URL names."""
        self._refresh()
        return frozenset(entry.telephone for entry in self._entries.values())

    def telephone_file(self, entry: Entry) -> Path:
        """The 8 kHz copy of an entry, on disk."""
        return self.audio_dir / entry.telephone

    def full_file(self, entry: Entry) -> Path:
        """The full-quality file of an entry, on disk."""
        return self.audio_dir / entry.file
