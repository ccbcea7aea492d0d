"""A continuation written after its seed at the seed's own quality, tagged for audio editors.

The model works on mono at its own rate (22,050 Hz); the user's seed may be 44.1 kHz
stereo. So the seed part is read again from its file, as it is, and the continuation
is resampled (soxr) to that rate and copied to each channel. Where they meet, the
seed's last ``SEAM_FADE_SECONDS`` cross-fade into the model-rate seed that the
continuation was generated from, resampled the same way: the continuation then
carries on from what it was made to follow, with no click.

The file gets an ``acid`` chunk (tempo, beats, and the key's tonic as root note),
which DAWs read to set the project tempo, and a LIST/INFO chunk with the take's name
and settings.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .analysis import MusicAnalysis
from .audio_io import resample, write_wav

SEAM_FADE_SECONDS = 0.05
_TAIL_SECONDS = 0.5  # of the model-rate seed resampled with the continuation: soxr's start-up stays clear of the fade
_ACID_ONE_SHOT, _ACID_ROOT_NOTE, _ACID_STRETCH = 0x01, 0x02, 0x04
_MIDDLE_C = 60


@dataclass(frozen=True)
class SeedSource:
    """Where the seed came from: its file, and the part of it used, in seconds."""
    path: str
    start_s: float
    end_s: float


def describe(name: str, model: str, settings: dict, source: SeedSource | None) -> str:
    """The take's settings, for the file's comment."""
    text = f"musicgen-gui {name} · model {Path(model).stem} · " + ", ".join(f"{k} {v}" for k, v in settings.items())
    if source is not None:
        text += f" · seed {Path(source.path).name} {source.start_s:.2f}-{source.end_s:.2f} s"
    return text


def acid_chunk(seconds: float, analysis: MusicAnalysis | None) -> bytes:
    """An ``acid`` chunk: a loop at the detected tempo and metre (4/4 if no bar was found), rooted on
    the key's tonic;
    without a tempo, a one-shot (DAWs then leave their tempo alone)."""
    beat = analysis.beat if analysis is not None else None
    key = analysis.key if analysis is not None else None
    flags = _ACID_STRETCH if beat else _ACID_ONE_SHOT
    root = _MIDDLE_C
    if key is not None:
        flags |= _ACID_ROOT_NOTE
        root += key.tonic
    bpm = float(beat.quarter_bpm) if beat else 0.0  # as DAWs count tempo: quarter notes
    numerator, denominator = 4, 4
    if beat and beat.beats_per_bar:  # the bar found: 3/4 or 4/4, or 9/8 or 12/8 for a compound beat
        numerator, denominator = (3 * beat.beats_per_bar, 8) if beat.compound else (beat.beats_per_bar, 4)
    beats = int(round(seconds * bpm / 60.0))
    body = struct.pack("<IHHfIHHf", flags, root, 0x8000, 0.0, beats, denominator, numerator, bpm)
    return b"acid" + struct.pack("<I", len(body)) + body


def with_seed_at_source_quality(source: SeedSource | None, seed: np.ndarray, continuation: np.ndarray,
                                sample_rate: int) -> tuple[np.ndarray, int]:
    """(frames x channels, rate): the seed from its file followed by the continuation at that rate;
    the model-rate mono ``seed`` and continuation as they are if the file is gone or has changed."""
    original = _read_region(source, len(seed) / sample_rate, sample_rate) if source is not None else None
    if original is None:
        return np.concatenate([seed, continuation])[:, None], sample_rate
    data, rate = original
    tail = seed[-int(_TAIL_SECONDS * sample_rate):]
    resampled = resample(np.concatenate([tail, continuation]), sample_rate, rate)
    seam = int(round(len(tail) * rate / sample_rate))
    wanted = int(round(len(continuation) * rate / sample_rate))
    after = np.zeros(wanted, np.float32)
    after[:len(resampled) - seam] = resampled[seam:seam + wanted]
    fade = min(int(SEAM_FADE_SECONDS * rate), len(data), seam)
    if fade:
        rise = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, fade, dtype=np.float32)))[:, None]
        data[-fade:] = data[-fade:] * (1.0 - rise) + resampled[seam - fade:seam, None] * rise
    return np.concatenate([data, np.repeat(after[:, None], data.shape[1], axis=1)]), rate


def write_with_seed(path: str | os.PathLike, source: SeedSource | None, seed: np.ndarray, continuation: np.ndarray,
                    sample_rate: int, bits: str, analysis: MusicAnalysis | None, title: str,
                    comment: str) -> tuple[Path, int]:
    """Write the seed and continuation as above, atomically; returns the file and its rate."""
    audio, rate = with_seed_at_source_quality(source, seed, continuation, sample_rate)
    written = write_wav(path, audio, rate, bits, title=title, comment=comment,
                        chunks=acid_chunk(len(audio) / rate, analysis))
    return written, rate


def _read_region(source: SeedSource, seconds: float, model_rate: int) -> tuple[np.ndarray, int] | None:
    """The part of the seed's file that was used, as it is there; None if it no longer matches."""
    import soundfile as sf

    try:
        with sf.SoundFile(source.path) as f:
            rate = int(f.samplerate)
            start, end = int(round(source.start_s * rate)), int(round(source.end_s * rate))
            # The model-rate seed's end can fall a fraction of its sample past the file's last one.
            slack = 1.0 / model_rate + 1.0 / rate
            if end - f.frames > slack * rate or abs((end - start) / rate - seconds) > slack:
                return None
            end = min(end, f.frames)
            f.seek(start)
            data = f.read(end - start, dtype="float32", always_2d=True)
    except (OSError, RuntimeError, ValueError, sf.LibsndfileError):
        return None
    return (data, rate) if len(data) == end - start and np.isfinite(data).all() else None
