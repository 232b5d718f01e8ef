"""How loud each telephone copy is and how much silence it has at its edges: measured, and made right.

Measuring (`measure`). The 8 kHz signal is cut into 20 ms frames (160 samples; a shorter last frame counts as a
frame). A frame is *speech* when its RMS is at least `GATE_DB` (35 dB) below the loudest frame of the prompt and
above `FLOOR_DBFS` (-60 dBFS); everything else is *quiet*. The gate is relative, so it does not move when a prompt
is made louder or quieter: espeak-ng's speech sits around -12...-25 dBFS per frame and its pauses at -38...-45
(or digital silence), a recording's room noise typically at -50...-60 - 35 dB under the loudest frame keeps the
soft ends of words (-40...-45) and drops the noise. The floor keeps a nearly blank file from counting as speech.

* speech level: RMS over the speech frames, in dBFS = 20·log10(RMS / 32768) (a full-scale square wave is 0 dBFS,
  a full-scale sine -3 dBFS); the quiet between words does not pull it down, so short and long prompts compare.
* edge silence: the time before the first speech frame (leading) and after the last one (trailing), in ms.

Making it right (`master`, used by `ivr audio build` for every `.8k.wav`, rendered or recorded):

* gain to `TARGET_DBFS` = -20 dBFS speech level. That is the usual level for IVR prompts: loud enough over a
  mobile network's noise, with ~19 dB left for the peaks of speech (espeak-ng's crest factor at 8 kHz is about
  18-20 dB), and about 6 dB above ITU-T's nominal -26 dBov active speech level, which callers hear as quiet.
  Every prompt ends up within a few tenths of a dB of it (the build re-measures after the limiter and corrects);
  `MAX_DEVIATION_DB` (3 dB from the median) is the requirement the check holds the build to.
* peak limit at `CEILING` = 29204 (-1 dBFS): a look-ahead limiter (2 ms attack, 50 ms release) lowers the gain
  around the few peaks the gain would push past it, so no sample is ever clipped. -1 dBFS is below the G.711
  μ-law encoder's clip point (`MULAW_CLIP` = 32635, -0.03 dBFS) with 1 dB to spare for the overshoot of
  resampling and coding downstream: the copies are μ-law-ready 8 kHz mono 16-bit PCM.
* edge trim: quiet beyond `EDGE_KEEP_MS` = 140 ms before the first and after the last speech frame is cut (at
  frame boundaries, with a 5 ms fade where a cut is made), so measured edge silence is at most 140 ms, under the
  150 ms limit (`EDGE_LIMIT_MS`) by one frame; keeping that much quiet lets words start and end naturally, and
  two prompts played one after another are separated by a natural ~0.3 s pause. Nothing is added: a prompt that
  starts with speech keeps starting with it.

A prompt with no speech frame (a blank recording) is left as it is, and reported.

`levels(audio_dir)` measures every telephone copy in a built audio folder and sums it up (`LevelReport`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ivr.audio.manifest import AudioManifest
from ivr.audio.wav import TELEPHONE_RATE, AudioError, clamp16, info, read_wav, telephone_samples, write_wav

FRAME_MS = 20
GATE_DB = 35.0  # speech frames: within this many dB of the loudest frame...
FLOOR_DBFS = -60.0  # ...and louder than this
TARGET_DBFS = -20.0
MAX_GAIN_DB = 40.0  # a nearly silent file is not blown up into noise
CEILING = 29204  # -1 dBFS
MULAW_CLIP = 32635  # a G.711 μ-law encoder clips magnitudes above this
FULL_SCALE = 32767
EDGE_KEEP_MS = 140
EDGE_LIMIT_MS = 150
MAX_DEVIATION_DB = 3.0
FADE_MS = 5
ATTACK_MS = 2.0
RELEASE_MS = 50.0
_TOLERANCE_DB = 0.05  # the build stops correcting the gain when the level is this close to the target
_PASSES = 6


def dbfs(rms: float) -> float:
    """An RMS value of 16-bit samples in dBFS (-inf for silence)."""
    return 20 * math.log10(rms / 32768) if rms > 0 else -math.inf


@dataclass(frozen=True)
class Measure:
    """Loudness and edge silence of one mono signal."""

    speech_dbfs: float | None  # None: no speech frame at all
    lead_ms: float
    trail_ms: float
    peak: int  # largest magnitude
    full_scale: int  # samples at or beyond ±32767
    samples: int
    rate: int

    @property
    def edge_ms(self) -> float:
        """The longer of the two edge silences."""
        return max(self.lead_ms, self.trail_ms)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.samples / self.rate if self.rate else 0.0


def _frame_powers(samples: Sequence[float], size: int) -> list[float]:
    """Mean square of each frame of `size` samples (the last one may be shorter)."""
    out = []
    for at in range(0, len(samples), size):
        frame = samples[at : at + size]
        out.append(math.fsum(v * v for v in frame) / len(frame))
    return out


def _speech_flags(powers: Sequence[float]) -> list[bool]:
    """Which frames are speech (see the module docstring)."""
    if not powers:
        return []
    loudest = max(powers)
    threshold = max(loudest * 10 ** (-GATE_DB / 10), (32768 * 10 ** (FLOOR_DBFS / 20)) ** 2)
    return [p >= threshold and p > 0 for p in powers]


def _speech_span(flags: Sequence[bool]) -> tuple[int, int] | None:
    """Index of the first speech frame and one past the last, or None."""
    first = next((i for i, f in enumerate(flags) if f), None)
    if first is None:
        return None
    last = len(flags) - 1 - next(i for i, f in enumerate(reversed(flags)) if f)
    return first, last + 1


def _speech_dbfs(samples: Sequence[float], size: int) -> float | None:
    powers = _frame_powers(samples, size)
    flags = _speech_flags(powers)
    sizes = [min(size, len(samples) - at) for at in range(0, len(samples), size)]
    total = sum(s for s, f in zip(sizes, flags, strict=True) if f)
    if not total:
        return None
    return dbfs(math.sqrt(sum(p * s for p, s, f in zip(powers, sizes, flags, strict=True) if f) / total))


def measure(samples: Sequence[float], rate: int = TELEPHONE_RATE) -> Measure:
    """Speech level, edge silence and peaks of mono `samples` at `rate`."""
    size = max(1, rate * FRAME_MS // 1000)
    flags = _speech_flags(_frame_powers(samples, size))
    span = _speech_span(flags)
    n = len(samples)
    peak = max((abs(v) for v in samples), default=0)
    full = sum(1 for v in samples if v >= FULL_SCALE or v <= -FULL_SCALE)
    if span is None:
        ms = 1000 * n / rate if rate else 0.0
        return Measure(None, ms, ms, round(peak), full, n, rate)
    first, end = span
    lead = 1000 * first * size / rate
    trail = 1000 * max(0, n - end * size) / rate
    return Measure(_speech_dbfs(samples, size), lead, trail, round(peak), full, n, rate)


@dataclass(frozen=True)
class Mastering:
    """What `master` did to one signal: the gain, and the part of the input kept (`start`...`end`, in samples)."""

    gain_db: float
    start: int
    end: int
    samples_in: int
    measure: Measure  # of the output

    @property
    def trimmed(self) -> bool:
        """Whether anything was cut off."""
        return self.start > 0 or self.end < self.samples_in


def master(samples: Sequence[float], rate: int = TELEPHONE_RATE) -> tuple[list[int], Mastering]:
    """`samples` at the target speech level, peak-limited, with edge silence cut to `EDGE_KEEP_MS`; 16-bit values."""
    size = max(1, rate * FRAME_MS // 1000)
    level = _speech_dbfs(samples, size)
    n = len(samples)
    if level is None:  # nothing to level or trim against
        out = list(clamp16(samples))
        return out, Mastering(0.0, 0, n, n, measure(out, rate))
    gain_db = min(MAX_GAIN_DB, TARGET_DBFS - level)
    out = []
    for _ in range(_PASSES):
        out = list(clamp16(_limit([v * 10 ** (gain_db / 20) for v in samples], CEILING, rate)))
        got = _speech_dbfs(out, size)
        if got is None or abs(got - TARGET_DBFS) <= _TOLERANCE_DB or gain_db >= MAX_GAIN_DB:
            break
        gain_db = min(MAX_GAIN_DB, gain_db + TARGET_DBFS - got)
    span = _speech_span(_speech_flags(_frame_powers(out, size)))
    start, end = 0, n
    if span is not None:
        keep = EDGE_KEEP_MS // FRAME_MS
        start = max(0, span[0] - keep) * size
        end = min(n, (span[1] + keep) * size)
    out = out[start:end]
    fade = max(1, rate * FADE_MS // 1000)
    if start > 0:
        for i in range(min(fade, len(out))):
            out[i] = round(out[i] * i / fade)
    if end < n:
        for i in range(min(fade, len(out))):
            out[-1 - i] = round(out[-1 - i] * i / fade)
    return out, Mastering(gain_db, start, end, n, measure(out, rate))


def _limit(values: list[float], ceiling: float, rate: int) -> list[float]:
    """`values` with the gain lowered around every sample beyond ±`ceiling`, so none is (look-ahead limiter).

    The gain needed at each such peak is held `ATTACK_MS` either side of it, released towards 1 over `RELEASE_MS`,
    then smoothed with a moving average `ATTACK_MS` either side: the average at a peak only sees gains at most
    the one that peak needs, so it comes out at or under the ceiling, and the gain never jumps.
    """
    over = [i for i, v in enumerate(values) if abs(v) > ceiling]
    if not over:
        return values
    n = len(values)
    reach = max(1, round(rate * ATTACK_MS / 1000))
    need = [1.0] * n
    for p in over:
        g = ceiling / abs(values[p])
        for j in range(max(0, p - reach), min(n, p + reach + 1)):
            need[j] = min(need[j], g)
    release = 1 - math.exp(-1000 / (rate * RELEASE_MS))
    gain, held = [1.0] * n, 1.0
    for i in range(n):
        held += (1.0 - held) * release
        held = min(held, need[i])
        gain[i] = held
    sums = [0.0] * (n + 1)
    for i, g in enumerate(gain):
        sums[i + 1] = sums[i] + g
    out = []
    for i, v in enumerate(values):
        lo, hi = max(0, i - reach), min(n, i + reach + 1)
        g = (sums[hi] - sums[lo]) / (hi - lo)
        if abs(v) > ceiling:  # at most the gain this peak needs, whatever the rounding of the running sums
            g = min(g, gain[i])
        out.append(v * g)
    return out


def master_telephone(src: Path | str, dst: Path | str) -> Mastering:
    """Write the levelled, trimmed 8 kHz mono 16-bit copy of the WAV file `src` to `dst` (see the module docstring).

    The `Mastering`'s `start`/`end` are in 8 kHz samples; `source_span` turns them into frames of `src`.
    """
    out, done = master(telephone_samples(read_wav(src)))
    write_wav(dst, out, TELEPHONE_RATE)
    return done


def source_span(done: Mastering, rate: int, frames: int) -> tuple[int, int]:
    """The frames of a `rate` Hz file of `frames` frames that match the part `done` kept of its 8 kHz copy."""
    start = 0 if done.start <= 0 else min(frames, round(done.start * rate / TELEPHONE_RATE))
    end = frames if done.end >= done.samples_in else min(frames, round(done.end * rate / TELEPHONE_RATE))
    return start, max(start, end)


@dataclass(frozen=True)
class PromptLevel:
    """The measured telephone copy of one catalogued prompt."""

    prompt: str
    lang: str
    file: str
    source: str
    measure: Measure

    @property
    def speech_dbfs(self) -> float | None:
        """Speech level (None: no speech found)."""
        return self.measure.speech_dbfs


@dataclass
class LevelReport:
    """Loudness and edge silence of every telephone copy in an audio folder; `str()` is a short table and a summary."""

    audio_dir: Path
    prompts: list[PromptLevel] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # "prompt (file): why"
    per_prompt: bool = False  # str() lists every prompt too

    @property
    def measured(self) -> list[PromptLevel]:
        """The prompts with speech."""
        return [p for p in self.prompts if p.speech_dbfs is not None]

    def _levels(self) -> list[float]:
        return [p.speech_dbfs for p in self.prompts if p.speech_dbfs is not None]

    @property
    def min_dbfs(self) -> float | None:
        """Quietest prompt's speech level."""
        return min(self._levels(), default=None)

    @property
    def median_dbfs(self) -> float | None:
        """Median speech level."""
        levels = self._levels()
        return statistics.median(levels) if levels else None

    @property
    def max_dbfs(self) -> float | None:
        """Loudest prompt's speech level."""
        return max(self._levels(), default=None)

    @property
    def max_deviation_db(self) -> float | None:
        """The largest distance of a prompt's level from the median, in dB."""
        median = self.median_dbfs
        return None if median is None else max(abs(v - median) for v in self._levels())

    @property
    def longest_edge_ms(self) -> float:
        """The longest leading or trailing silence of any prompt, in ms."""
        return max((p.measure.edge_ms for p in self.prompts), default=0.0)

    @property
    def peak(self) -> int:
        """The largest sample magnitude of any prompt."""
        return max((p.measure.peak for p in self.prompts), default=0)

    @property
    def problems(self) -> list[str]:
        """What makes a copy unfit for the phone: far from the median, long edge silence, clipping, no speech, unreadable."""
        out = list(self.unreadable)
        median = self.median_dbfs
        for p in self.prompts:
            m = p.measure
            name = f"{p.lang} {p.prompt} ({p.file})"
            if m.speech_dbfs is None:
                out.append(f"{name}: no speech found")
                continue
            if median is not None and abs(m.speech_dbfs - median) > MAX_DEVIATION_DB:
                out.append(f"{name}: speech at {m.speech_dbfs:.1f} dBFS, {m.speech_dbfs - median:+.1f} dB from the median")
            if m.edge_ms > EDGE_LIMIT_MS:
                out.append(f"{name}: {m.lead_ms:.0f} ms of silence before and {m.trail_ms:.0f} ms after the speech (limit {EDGE_LIMIT_MS})")
            if m.peak > MULAW_CLIP or m.full_scale:
                out.append(f"{name}: peaks at {m.peak} ({m.full_scale} samples at full scale): clips in μ-law")
        return out

    @property
    def ok(self) -> bool:
        """Whether every telephone copy is fit for the phone."""
        return not self.problems

    def summary(self) -> str:
        """One line: how many prompts, their levels, the largest deviation, the longest edge silence, the verdict."""
        n = len(self.prompts)
        if not self.measured:
            return f"{n} telephone copies measured, none with speech" + (f"; {len(self.unreadable)} unreadable" if self.unreadable else "")
        lo, med, hi, dev = self.min_dbfs, self.median_dbfs, self.max_dbfs, self.max_deviation_db
        assert lo is not None and med is not None and hi is not None and dev is not None
        problems = self.problems
        verdict = "fit for the phone" if not problems else f"{len(problems)} problem(s)"
        return (
            f"{n} telephone copies: speech {lo:.1f} / {med:.1f} / {hi:.1f} dBFS (min / median / max), "
            f"at most {dev:.1f} dB from the median (limit {MAX_DEVIATION_DB:g}); longest edge silence {self.longest_edge_ms:.0f} ms "
            f"(limit {EDGE_LIMIT_MS}); peak {dbfs(self.peak) if self.peak else -math.inf:.1f} dBFS; {verdict}"
        )

    def table(self, per_prompt: bool = False) -> str:
        """A line per language (and per prompt with `per_prompt`), the problems, then the summary line."""
        lines = [f"{'language':<10} {'prompts':>7} {'min':>7} {'median':>7} {'max':>7} {'edge ms':>8}  (speech dBFS)"]
        for lang in sorted({p.lang for p in self.prompts}):
            group = [p for p in self.prompts if p.lang == lang]
            levels = [p.speech_dbfs for p in group if p.speech_dbfs is not None]
            cells = [f"{f(levels):7.1f}" if levels else f"{'-':>7}" for f in (min, statistics.median, max)]
            edge = max(p.measure.edge_ms for p in group)
            lines.append(f"{lang:<10} {len(group):>7} {' '.join(cells)} {edge:>8.0f}")
        if per_prompt:
            lines.append("")
            lines.append(f"{'language':<10} {'dBFS':>6} {'lead':>5} {'trail':>5} {'peak':>6}  prompt")
            for p in sorted(self.prompts, key=lambda p: (p.lang, p.prompt, p.file)):
                m = p.measure
                level = f"{m.speech_dbfs:6.1f}" if m.speech_dbfs is not None else f"{'-':>6}"
                peak = f"{dbfs(m.peak):6.1f}" if m.peak else f"{'-':>6}"
                lines.append(f"{p.lang:<10} {level} {m.lead_ms:>5.0f} {m.trail_ms:>5.0f} {peak}  {p.prompt} ({p.file})")
        lines.extend(f"problem: {p}" for p in self.problems)
        lines.append(self.summary())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table(self.per_prompt)


def levels(audio_dir: Path, per_prompt: bool = False) -> LevelReport:
    """Measure every telephone copy catalogued in `audio_dir`'s manifest.json (raises `ManifestError` if it is broken).

    A copy that is missing, unreadable or not 8 kHz mono 16-bit is listed in `unreadable` (and so in `problems`).
    """
    manifest = AudioManifest.load(audio_dir)
    report = LevelReport(Path(audio_dir), per_prompt=per_prompt)
    for entry in manifest:
        path = manifest.telephone_path(entry)
        try:
            fmt = info(path)
            if (fmt.rate, fmt.channels, fmt.sample_width) != (TELEPHONE_RATE, 1, 2):
                raise AudioError(f"{fmt.rate} Hz, {fmt.channels} channel(s), {8 * fmt.sample_width}-bit instead of 8000 Hz mono 16-bit")
            pcm = read_wav(path)
        except AudioError as exc:  # WavError included
            report.unreadable.append(f"{entry.lang} {entry.prompt} ({entry.telephone}): {exc}")
            continue
        report.prompts.append(PromptLevel(entry.prompt, entry.lang, entry.telephone, entry.source, measure(pcm.samples, pcm.rate)))
    return report
