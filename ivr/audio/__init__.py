"""Prompt audio: text-to-speech rendering (pyttsx3 + espeak-ng), WAV handling and an incremental, catalogued build."""

from __future__ import annotations

from ivr.audio.build import BuildReport, PromptSpec, build_audio, prompt_key
from ivr.audio.manifest import MANIFEST_NAME, AudioManifest, Entry, ManifestError, content_hash
from ivr.audio.tts import ESPEAK_NAMES, Pyttsx3Renderer, Renderer, TtsError, TtsUnavailableError, VoiceNotFoundError
from ivr.audio.wav import TELEPHONE_RATE, AudioError, Pcm, WavError, WavInfo, duration, info, read_wav, resample, to_telephone, write_wav

__all__ = [
    "ESPEAK_NAMES",
    "MANIFEST_NAME",
    "TELEPHONE_RATE",
    "AudioError",
    "AudioManifest",
    "BuildReport",
    "Entry",
    "ManifestError",
    "Pcm",
    "PromptSpec",
    "Pyttsx3Renderer",
    "Renderer",
    "TtsError",
    "TtsUnavailableError",
    "VoiceNotFoundError",
    "WavError",
    "WavInfo",
    "build_audio",
    "content_hash",
    "duration",
    "info",
    "prompt_key",
    "read_wav",
    "resample",
    "to_telephone",
    "write_wav",
]
