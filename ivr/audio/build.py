"""Incremental audio build: render (or import) only what changed, keep the catalogue in step with the files.

Per prompt, a content hash of (language, text, voice settings, renderer version) - or, for a prerecorded
prompt, of (language, text, the recording's bytes) - and of the telephone processing (`TELEPHONE_PROCESSING`)
names its files: `<lang>/<hash16>.wav` (full quality) and `<lang>/<hash16>.8k.wav` (for the phone network).
A hash already catalogued with both files present is reused; entries no prompt needs any more are dropped and
their files deleted. The catalogue is saved after every prompt produced, so a build that fails midway leaves
a catalogue that lists only files that exist, and the next build carries on from there.

The telephone copy, rendered or recorded, is μ-law-ready 8 kHz mono 16-bit PCM at the common speech level,
peak-limited, with edge silence cut to 140 ms (`ivr.audio.levels.master`). The full-quality file keeps the
rendered (or recorded) samples as they are, but loses the same edge silence, cut at the same instants, so both
files last the `duration` the catalogue gives (a recording with nothing to cut is kept byte for byte).

Progress goes to the `progress` stream: on a terminal a bar redrawn in place, otherwise one plain line per
prompt (rendered, imported or reused).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from ivr.audio.levels import master_telephone, source_span
from ivr.audio.manifest import AudioManifest, Entry, Source, content_hash
from ivr.audio.tts import Pyttsx3Renderer, Renderer
from ivr.audio.wav import AudioError, WavError, cut_wav, info
from ivr.text import segment_languages

LANG_DIR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")  # a language tag is used as a folder name
# Files the build owns inside a language folder.
# Anything else there is left alone; hidden '.<hash16>...wav' files are temporary files of an interrupted build.
OWNED_FILE = re.compile(r"^(?:[0-9a-f]{16}(?:\.8k)?\.wav|\.+[0-9a-f]{16}\..*\.wav)$")
PROGRESS_MIN = 4  # show a progress bar only when at least this many prompts need producing
BAR_WIDTH = 30
# Part of every prompt's content hash: change it when the telephone copies are made differently, so that every
# prompt is produced again (levelled to -20 dBFS, limited at -1 dBFS, edge silence cut to 140 ms; see levels.py).
TELEPHONE_PROCESSING = "level-1"


@dataclass(frozen=True)
class PromptSpec:
    """One prompt to have audio for: spoken by the renderer, or taken from a prerecorded WAV."""

    id: str
    lang: str
    text: str  # the words as the engine says them: what the manifest is looked up by
    recording: Path | None = None
    spoken: str = ""  # the prompt as written, with its {LANG: …} segments, for the renderer ('' = `text`)


@dataclass
class BuildReport:
    """What a build did. `rendered`, `recordings` and `reused` split the input prompt ids between them:
    a prompt whose (language, text) already came earlier in the same build counts as reused.
    `removed` names the prompts of the catalogue entries dropped (and files deleted)."""

    rendered: list[str] = field(default_factory=list)
    recordings: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    entries: int = 0
    seconds: float = 0.0

    @property
    def counts(self) -> dict[str, int]:
        """How many prompts were rendered, imported, reused, removed."""
        return {
            "rendered": len(self.rendered),
            "recordings": len(self.recordings),
            "reused": len(self.reused),
            "removed": len(self.removed),
        }

    def __str__(self) -> str:
        c = self.counts
        return (
            f"{c['rendered']} rendered, {c['recordings']} recordings imported, {c['reused']} reused, "
            f"{c['removed']} removed; {self.entries} audio files in the catalogue ({self.seconds:.1f}s)"
        )


@dataclass
class _Job:
    """The audio several prompts with the same content share."""

    key: str
    spec: PromptSpec
    source: Source
    recording: bytes | None = None
    members: list[tuple[int, str]] = field(default_factory=list)  # (position in the input, prompt id)

    @property
    def stem(self) -> str:
        return f"{self.spec.lang}/{self.key[:16]}"


def prompt_key(spec: PromptSpec, renderer: Renderer, recording: bytes | None = None) -> str:
    """The content hash of a prompt's audio (`recording`: the bytes of `spec.recording`, read by the caller)."""
    if spec.recording is not None:
        if recording is None:
            recording = Path(spec.recording).read_bytes()
        return content_hash(
            {
                "source": "recording",
                "lang": spec.lang,
                "text": spec.text,
                "recording_sha256": hashlib.sha256(recording).hexdigest(),
                "telephone": TELEPHONE_PROCESSING,
            }
        )
    key: dict[str, object] = {
        "source": "tts",
        "lang": spec.lang,
        "text": spec.text,
        "voice": dict(renderer.voice_settings(spec.lang)),
        "renderer": renderer.version,
        "telephone": TELEPHONE_PROCESSING,
    }
    others = sorted(set(segment_languages(spec.spoken)) - {spec.lang})
    if others:  # parts in other languages: their voices shape the audio too
        key["spoken"] = spec.spoken
        key["segment_voices"] = {lang: dict(renderer.voice_settings(lang)) for lang in others}
    return content_hash(key)


def build_audio(
    prompts: Iterable[PromptSpec],
    audio_dir: Path,
    renderer: Renderer | None = None,
    progress: TextIO | None = None,
    *,
    bar: bool | None = None,
) -> BuildReport:
    """Bring `audio_dir` and its manifest.json up to date with `prompts` (see the module docstring).

    Progress goes to `progress` (nothing without it): a bar redrawn in place when `bar` is true - by default,
    when `progress` is a terminal - and at least `PROGRESS_MIN` prompts need producing, else one line per prompt.
    """
    started = time.perf_counter()
    audio_dir = Path(audio_dir)
    renderer = renderer if renderer is not None else Pyttsx3Renderer()
    jobs = _plan(prompts, renderer)
    audio_dir.mkdir(parents=True, exist_ok=True)
    manifest = AudioManifest.load(audio_dir)
    report = BuildReport()
    outcome: dict[int, tuple[list[str], str]] = {}  # input position -> (report list, prompt id)

    # Drop what no prompt needs (and entries whose files went missing): catalogue first, then files.
    stale = [e for e in manifest if e.key not in jobs]
    broken = [e for e in manifest if e.key in jobs and not manifest.files_present(e)]
    for entry in stale + broken:
        manifest.remove(entry.key)
    manifest.save()
    for entry in stale:
        report.removed.append(entry.prompt)
    for entry in stale + broken:
        for path in (manifest.file_path(entry), manifest.telephone_path(entry)):
            path.unlink(missing_ok=True)

    todo: list[_Job] = []
    reused: list[tuple[int, str, str]] = []  # (position in the input, language, prompt id)
    for job in jobs.values():
        present = manifest.get(job.key)
        if present is None:
            todo.append(job)
            continue
        outcome.update((pos, (report.reused, pid)) for pos, pid in job.members)
        reused.extend((pos, job.spec.lang, pid) for pos, pid in job.members)
        if present.prompt != job.spec.id:  # same audio, prompt renamed
            manifest.add(replace(present, prompt=job.spec.id))

    if bar is None:
        bar = progress is not None and _is_terminal(progress)
    meter = _ProgressBar(progress, len(todo)) if progress is not None and bar and len(todo) >= PROGRESS_MIN else None
    lines = _ProgressLines(progress, len(todo)) if progress is not None and not bar else None
    if lines:
        for _, lang, pid in sorted(reused):
            lines.reused(lang, pid)
    try:
        for done, job in enumerate(todo):
            if meter:
                meter.show(done, job)
            entry = _produce(job, audio_dir, renderer)
            manifest.add(entry)
            manifest.save()
            (first, first_id), *dups = job.members
            outcome[first] = (report.recordings if job.source == "recording" else report.rendered, first_id)
            outcome.update((pos, (report.reused, pid)) for pos, pid in dups)
            if lines:
                lines.produced(done + 1, job, entry)
        if meter:
            meter.show(len(todo), None)
    finally:
        if meter:
            meter.close()
        manifest.save()
    _sweep(audio_dir, manifest)
    for _, (bucket, pid) in sorted(outcome.items()):
        bucket.append(pid)
    report.entries = len(manifest)
    report.seconds = time.perf_counter() - started
    return report


def _plan(prompts: Iterable[PromptSpec], renderer: Renderer) -> dict[str, _Job]:
    """One job per distinct audio content, in input order, with the ids of every prompt that uses it."""
    jobs: dict[str, _Job] = {}
    for position, spec in enumerate(prompts):
        if not LANG_DIR.match(spec.lang):
            raise AudioError(f"prompt {spec.id!r}: language {spec.lang!r} is not a usable tag (letters, digits, '-' or '_')")
        recording = None
        if spec.recording is not None:
            try:
                recording = Path(spec.recording).read_bytes()
            except OSError as exc:
                raise AudioError(f"prompt {spec.id!r}: cannot read recording {spec.recording} ({exc.strerror or exc})") from exc
        elif not spec.text.strip():
            raise AudioError(f"prompt {spec.id!r}: blank text in {spec.lang}")
        key = prompt_key(spec, renderer, recording)
        if key not in jobs:
            jobs[key] = _Job(key, spec, "recording" if recording is not None else "tts", recording)
        jobs[key].members.append((position, spec.id))
    return jobs


def _produce(job: _Job, audio_dir: Path, renderer: Renderer) -> Entry:
    """Render or import one job's audio into place (temporary files, then renames) and its catalogue entry."""
    full_rel, tel_rel = f"{job.stem}.wav", f"{job.stem}.8k.wav"
    full, tel = audio_dir / full_rel, audio_dir / tel_rel
    full.parent.mkdir(parents=True, exist_ok=True)
    tmp_full = full.with_name(f".{job.key[:16]}.{os.getpid()}.part.wav")
    tmp_tel = full.with_name(f".{job.key[:16]}.{os.getpid()}.8k.part.wav")
    try:
        if job.recording is not None:
            tmp_full.write_bytes(job.recording)  # as is: no re-encoding
        else:
            renderer.render(job.spec.spoken or job.spec.text, job.spec.lang, tmp_full)
        try:
            source = info(tmp_full)
        except WavError as exc:
            what = f"recording {job.spec.recording}" if job.recording is not None else "rendered audio"
            raise AudioError(f"prompt {job.spec.id!r}: {what} is not a usable WAV file ({exc})") from exc
        done = master_telephone(tmp_full, tmp_tel)
        if done.trimmed:  # the same edge silence off the full-quality file, samples as they are
            start, end = source_span(done, source.rate, source.frames)
            cut_wav(tmp_full, tmp_full, start, end)
        length = info(tmp_full).duration
        os.replace(tmp_tel, tel)
        os.replace(tmp_full, full)
    finally:
        tmp_full.unlink(missing_ok=True)
        tmp_tel.unlink(missing_ok=True)
    return Entry(
        key=job.key,
        prompt=job.spec.id,
        lang=job.spec.lang,
        text=job.spec.text,
        file=full_rel,
        telephone=tel_rel,
        duration=round(length, 3),
        source=job.source,
    )


def _sweep(audio_dir: Path, manifest: AudioManifest) -> None:
    """Delete build-owned files the catalogue does not list (left by an interrupted build), and emptied folders."""
    keep = {manifest.file_path(e) for e in manifest} | {manifest.telephone_path(e) for e in manifest}
    for folder in audio_dir.iterdir():
        if not folder.is_dir() or not LANG_DIR.match(folder.name):
            continue
        for path in folder.iterdir():
            if path.is_file() and OWNED_FILE.match(path.name) and path not in keep:
                path.unlink(missing_ok=True)
        if not any(folder.iterdir()):
            folder.rmdir()


def _is_terminal(stream: TextIO) -> bool:
    """Whether `stream` is a terminal (a stream that cannot tell is not)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


class _ProgressLines:
    """One plain line per prompt, for logs and pipes: `rendered en-US welcome (3/12, 2.41 s)`, `reused zh-CN menu`."""

    def __init__(self, stream: TextIO, total: int) -> None:
        self.stream = stream
        self.total = total

    def reused(self, lang: str, prompt: str, same_as: str | None = None) -> None:
        self._line(f"reused {lang} {prompt}" + (f" (same audio as {same_as})" if same_as else ""))

    def produced(self, done: int, job: _Job, entry: Entry) -> None:
        verb = "imported" if job.source == "recording" else "rendered"
        (_, first_id), *dups = job.members
        self._line(f"{verb} {job.spec.lang} {first_id} ({done}/{self.total}, {entry.duration:.2f} s)")
        for _, pid in dups:
            self.reused(job.spec.lang, pid, same_as=first_id)

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


class _ProgressBar:
    """`\\r[#####.....] 12/80 rendering en-US welcome` on one line, redrawn in place."""

    def __init__(self, stream: TextIO, total: int) -> None:
        self.stream = stream
        self.total = total
        self._last_len = 0

    def show(self, done: int, job: _Job | None) -> None:
        filled = BAR_WIDTH * done // self.total if self.total else BAR_WIDTH
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        if job is None:
            what = "done"
        else:
            verb = "importing" if job.source == "recording" else "rendering"
            label = job.spec.id if len(job.spec.id) <= 40 else job.spec.id[:39] + "…"
            what = f"{verb} {job.spec.lang} {label}"
        line = f"[{bar}] {done}/{self.total} {what}"
        self.stream.write("\r" + line + " " * max(0, self._last_len - len(line)))
        self.stream.flush()
        self._last_len = len(line)

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()
