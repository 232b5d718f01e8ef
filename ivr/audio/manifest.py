"""The audio catalogue: `<audio_dir>/manifest.json`, one entry per distinct prompt audio, keyed by a content hash.

    {
      "entries": {
        "<sha256 of lang, text, voice settings, renderer version (or recording bytes)>": {
          "duration": 2.41, "file": "en-US/0123456789abcdef.wav", "lang": "en-US", "prompt": "welcome",
          "source": "tts", "telephone": "en-US/0123456789abcdef.8k.wav", "text": "Welcome to ..."
        }
      },
      "format": 1
    }

Written atomically (temporary file, then `os.replace`), UTF-8, keys sorted, so the same catalogue is always the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from ivr.audio.wav import AudioError

MANIFEST_NAME = "manifest.json"
FORMAT = 1
Source = Literal["tts", "recording"]
SOURCES: tuple[Source, ...] = ("tts", "recording")


class ManifestError(AudioError):
    """manifest.json exists but cannot be read as an audio catalogue."""


def content_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of `fields` as canonical JSON: the same fields always give the same key."""
    canonical = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One audio file pair in the catalogue; paths are relative to the audio folder, with '/' separators."""

    key: str
    prompt: str
    lang: str
    text: str
    file: str
    telephone: str
    duration: float
    source: Source

    def to_json(self) -> dict[str, Any]:
        """The entry as stored (the key is the JSON object's key, not a field)."""
        data = asdict(self)
        del data["key"]
        return data

    @classmethod
    def from_json(cls, key: str, data: Any) -> Entry:
        """An entry read back from manifest.json (raises `ManifestError` if malformed)."""
        if not isinstance(data, dict):
            raise ManifestError(f"entry {key}: expected an object, got {type(data).__name__}")
        try:
            entry = cls(
                key=key,
                prompt=str(data["prompt"]),
                lang=str(data["lang"]),
                text=str(data["text"]),
                file=str(data["file"]),
                telephone=str(data["telephone"]),
                duration=float(data["duration"]),
                source=data["source"],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ManifestError(f"entry {key}: missing or bad field ({exc})") from exc
        if entry.source not in SOURCES:
            raise ManifestError(f"entry {key}: unknown source {entry.source!r}")
        for rel in (entry.file, entry.telephone):
            if Path(rel).is_absolute() or ".." in Path(rel).parts:
                raise ManifestError(f"entry {key}: path {rel!r} is outside the audio folder")
        return entry


class AudioManifest:
    """The catalogue of rendered and recorded prompt audio in one folder."""

    def __init__(self, audio_dir: Path | str, entries: Mapping[str, Entry] | None = None) -> None:
        self.audio_dir = Path(audio_dir)
        self._entries: dict[str, Entry] = dict(entries or {})

    @property
    def path(self) -> Path:
        """Where the catalogue is stored."""
        return self.audio_dir / MANIFEST_NAME

    @classmethod
    def load(cls, audio_dir: Path | str) -> AudioManifest:
        """The catalogue in `audio_dir` (empty if there is none yet)."""
        manifest = cls(audio_dir)
        try:
            raw = manifest.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return manifest
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ManifestError(f"{manifest.path}: not valid JSON ({exc})") from exc
        if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
            raise ManifestError(f"{manifest.path}: expected an object with an 'entries' object")
        if data.get("format") != FORMAT:
            raise ManifestError(f"{manifest.path}: unsupported format {data.get('format')!r} (expected {FORMAT})")
        for key, value in data["entries"].items():
            manifest._entries[key] = Entry.from_json(key, value)
        return manifest

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        """Entries in key order."""
        return iter([self._entries[k] for k in sorted(self._entries)])

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: str) -> Entry | None:
        """The entry stored under `key`, if any."""
        return self._entries.get(key)

    def add(self, entry: Entry) -> None:
        """Store `entry` (replacing any entry with the same key)."""
        self._entries[entry.key] = entry

    def remove(self, key: str) -> Entry | None:
        """Drop the entry under `key` from the catalogue (its files are left alone) and return it."""
        return self._entries.pop(key, None)

    def lookup(self, lang: str, text: str) -> Entry | None:
        """The audio for `text` in `lang`: a recording if there is one, else speech (lowest key if several)."""
        found = [e for e in self._entries.values() if e.lang == lang and e.text == text]
        if not found:
            return None
        return min(found, key=lambda e: (e.source != "recording", e.key))

    def file_path(self, entry: Entry) -> Path:
        """Absolute path of the full-quality WAV of `entry`."""
        return self.audio_dir / entry.file

    def telephone_path(self, entry: Entry) -> Path:
        """Absolute path of the 8 kHz mono WAV of `entry`."""
        return self.audio_dir / entry.telephone

    def files_present(self, entry: Entry) -> bool:
        """Whether both files of `entry` exist."""
        return self.file_path(entry).is_file() and self.telephone_path(entry).is_file()

    def to_json(self) -> str:
        """The catalogue as stored: stable, sorted, UTF-8 text (not ASCII-escaped), ending with a newline."""
        data = {"format": FORMAT, "entries": {k: e.to_json() for k, e in self._entries.items()}}
        return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2) + "\n"

    def save(self) -> bool:
        """Write the catalogue atomically; returns False (and writes nothing) when the file is already up to date."""
        text = self.to_json().encode("utf-8")
        try:
            if self.path.read_bytes() == text:
                return False
        except FileNotFoundError:
            pass
        self.audio_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".manifest.", suffix=".tmp", dir=self.audio_dir)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return True
