"""PCM WAV files with the standard `wave` module, and conversion to telephone quality (8 kHz, mono, 16-bit).

Pure Python: samples live in `array` objects, no numpy, no `audioop`, no external programs.
Files are written as 16-bit PCM; files read may be 8-, 16-, 24- or 32-bit integer PCM with any number of channels.
Levelling and edge trimming of the telephone copies (what `ivr audio build` writes) live in `ivr.audio.levels`;
this module gives them the unclamped 8 kHz signal (`telephone_samples`) and cuts files without re-encoding (`cut_wav`).
"""

from __future__ import annotations

import math
import sys
import wave
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import mul
from pathlib import Path

from ivr.errors import IvrError

TELEPHONE_RATE = 8000
# Telephone band edge: the anti-alias filter is -6 dB here and well down before the 4 kHz Nyquist limit.
TELEPHONE_CUTOFF = 3400.0
_LOBES = 12  # zero crossings of the sinc kept on each side of the centre
_PHASES = 512  # fractional positions between two input samples, tabulated once per input rate


class AudioError(IvrError):
    """Audio could not be read, converted, rendered or catalogued."""


class WavError(AudioError):
    """A file is not a WAV file this module can read (missing, truncated, compressed, float samples...)."""


@dataclass(frozen=True)
class WavInfo:
    """The format of a WAV file."""

    rate: int
    channels: int
    sample_width: int  # bytes per sample
    frames: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.rate if self.rate else 0.0


@dataclass(frozen=True)
class Pcm:
    """16-bit samples, channels interleaved, at `rate` frames per second."""

    rate: int
    channels: int
    samples: array[int]  # typecode 'h'

    @property
    def frames(self) -> int:
        """Number of frames (one sample per channel)."""
        return len(self.samples) // self.channels

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.rate if self.rate else 0.0


def info(path: Path | str) -> WavInfo:
    """The format of the WAV file at `path` (raises `WavError` if it is not a readable PCM WAV)."""
    try:
        with wave.open(str(path), "rb") as w:
            return WavInfo(w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise WavError(f"{path}: not a readable PCM WAV file ({exc})") from exc


def duration(path: Path | str) -> float:
    """Length of the WAV file at `path`, in seconds."""
    return info(path).duration


def read_wav(path: Path | str) -> Pcm:
    """The samples of a PCM WAV file, as 16-bit (wider samples are truncated, 8-bit ones scaled up)."""
    try:
        with wave.open(str(path), "rb") as w:
            rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
            data = w.readframes(w.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise WavError(f"{path}: not a readable PCM WAV file ({exc})") from exc
    if rate <= 0 or channels <= 0:
        raise WavError(f"{path}: bad format ({rate} Hz, {channels} channels)")
    return Pcm(rate, channels, _to_int16(data, width, path))


def write_wav(path: Path | str, samples: array[int] | Sequence[int], rate: int, channels: int = 1) -> None:
    """Write 16-bit PCM samples (channels interleaved) to `path`."""
    pcm = samples if isinstance(samples, array) and samples.typecode == "h" else array("h", samples)
    if sys.byteorder == "big":
        pcm = array("h", pcm)
        pcm.byteswap()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def to_telephone(src: Path | str, dst: Path | str) -> None:
    """Convert the WAV file `src` to 8 kHz mono 16-bit PCM in `dst`: downmix, anti-alias low-pass, resample.

    The output has the same duration as the input (to the nearest output sample).
    """
    write_wav(dst, clamp16(telephone_samples(read_wav(src))), TELEPHONE_RATE)


def telephone_samples(pcm: Pcm) -> list[float]:
    """`pcm` downmixed and resampled to 8 kHz, as unrounded, unclamped values (for gain before quantising)."""
    mono = downmix(pcm)
    if pcm.rate == TELEPHONE_RATE:
        return [float(s) for s in mono]
    return _resampled(mono, pcm.rate, TELEPHONE_RATE, TELEPHONE_CUTOFF)


def clamp16(values: Iterable[float]) -> array[int]:
    """Values rounded to 16-bit samples, clamped to -32768...32767."""
    return array("h", (-32768 if v < -32768 else 32767 if v > 32767 else round(v) for v in values))


def cut_wav(src: Path | str, dst: Path | str, start: int, end: int) -> None:
    """Write frames `start`...`end` (end excluded) of the PCM WAV `src` to `dst`, samples untouched (same rate,
    channels and width); `dst` may be `src`. The whole file is copied byte for byte when nothing is cut."""
    try:
        with wave.open(str(src), "rb") as w:
            params = w.getparams()
            if start <= 0 and end >= params.nframes:
                data = None
            else:
                w.setpos(max(0, start))
                data = w.readframes(max(0, min(end, params.nframes) - max(0, start)))
    except (OSError, EOFError, wave.Error) as exc:
        raise WavError(f"{src}: not a readable PCM WAV file ({exc})") from exc
    if data is None:
        if Path(src) != Path(dst):
            Path(dst).write_bytes(Path(src).read_bytes())
        return
    with wave.open(str(dst), "wb") as out:
        out.setnchannels(params.nchannels)
        out.setsampwidth(params.sampwidth)
        out.setframerate(params.framerate)
        out.writeframes(data)


def downmix(pcm: Pcm) -> array[int]:
    """The mean of all channels, as mono 16-bit samples."""
    if pcm.channels == 1:
        return array("h", pcm.samples)
    n = pcm.channels
    columns = [pcm.samples[c::n] for c in range(n)]
    return array("h", (round(sum(frame) / n) for frame in zip(*columns, strict=True)))


def resample(samples: Sequence[int], rate_in: int, rate_out: int, cutoff: float = TELEPHONE_CUTOFF) -> array[int]:
    """Band-limited resampling of mono 16-bit samples (windowed-sinc interpolation).

    Each output sample is the input convolved with a Blackman-windowed sinc low-pass at
    min(`cutoff`, 0.45 x the lower rate), evaluated at the output sample's exact position:
    filtering and interpolation in one pass, so nothing above the new Nyquist frequency folds back.
    """
    return clamp16(_resampled(samples, rate_in, rate_out, cutoff))


def _resampled(samples: Sequence[int], rate_in: int, rate_out: int, cutoff: float) -> list[float]:
    """`resample` before rounding and clamping."""
    if rate_in <= 0 or rate_out <= 0:
        raise AudioError(f"bad sample rates {rate_in} -> {rate_out}")
    n_in = len(samples)
    n_out = round(n_in * rate_out / rate_in)
    if n_out == 0:
        return []
    fc = min(cutoff, 0.45 * min(rate_in, rate_out)) / rate_in  # cycles per input sample
    kernels, half = _kernels(round(fc * 1_000_000))
    width = 2 * half
    # Zero padding around the input, so every output sample reads a full window.
    padded = [0.0] * half + [float(s) for s in samples] + [0.0] * (half + 1)
    step = rate_in / rate_out
    out = [0.0] * n_out
    for k in range(n_out):
        x = k * step
        base = math.floor(x)
        phase = round((x - base) * _PHASES)
        if phase == _PHASES:
            base, phase = base + 1, 0
        # padded[base + 1 : base + 1 + width] holds input samples base-half+1 ... base+half
        out[k] = sum(map(mul, kernels[phase], padded[base + 1 : base + 1 + width]))
    return out


@lru_cache(maxsize=8)
def _kernels(fc_micro: int) -> tuple[list[list[float]], int]:
    """Windowed-sinc low-pass kernels for `_PHASES` fractional positions, and the half width in samples.

    Kernel p, applied to input samples base-half+1 ... base+half, gives the filtered signal at base + p/_PHASES.
    Each kernel is normalised to unit DC gain.
    """
    fc = fc_micro / 1_000_000
    half = max(2, math.ceil(_LOBES / (2 * fc)))
    span = half + 1.0
    kernels = []
    for p in range(_PHASES + 1):
        frac = p / _PHASES
        row = []
        for j in range(-half + 1, half + 1):
            d = j - frac  # distance from the evaluated position, in input samples
            sinc = 2 * fc if d == 0 else math.sin(2 * math.pi * fc * d) / (math.pi * d)
            w = 0.42 + 0.5 * math.cos(math.pi * d / span) + 0.08 * math.cos(2 * math.pi * d / span)
            row.append(sinc * w)
        total = sum(row)
        kernels.append([v / total for v in row])
    return kernels, half


def _to_int16(data: bytes, width: int, path: Path | str) -> array[int]:
    """Little-endian PCM bytes of any integer width as native 16-bit samples."""
    if width == 2:
        out = array("h")
        out.frombytes(data[: len(data) - len(data) % 2])
        if sys.byteorder == "big":
            out.byteswap()
        return out
    if width == 1:  # unsigned 8-bit
        return array("h", ((b - 128) << 8 for b in data))
    if width in (3, 4):  # keep the top 16 bits of each little-endian sample
        usable = len(data) - len(data) % width
        return array("h", (int.from_bytes(data[i + width - 2 : i + width], "little", signed=True) for i in range(0, usable, width)))
    raise WavError(f"{path}: unsupported sample width of {width} bytes")
