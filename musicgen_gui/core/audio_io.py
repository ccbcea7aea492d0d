"""Reading seeds and training audio, and writing WAV files atomically."""

from __future__ import annotations

import io
import math
import os
import struct
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import AudioLoadError, ExportError
from .fileio import atomic_file

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff")
AUDIO_KINDS = "wav, flac, ogg, opus, mp3, aiff"  # the same, as a message names them
EXPORT_SUBTYPES = {"16": "PCM_16", "24": "PCM_24", "float": "FLOAT"}
# Each end of a clip is extended this far before resampling; soxr's HQ filter reaches a few ms.
RESAMPLE_EDGE_SECONDS = 0.01
_RESAMPLE_PIECE = 1 << 20  # input samples resampled at a time


@dataclass(frozen=True)
class LoadedAudio:
    samples: np.ndarray  # mono float32 at the requested rate
    sample_rate: int
    source_rate: int
    source_channels: int
    truncated: bool  # cropped to max_seconds


def load_audio(path: str | os.PathLike, sample_rate: int, max_seconds: float | None = None) -> LoadedAudio:
    """Decode any soundfile-readable file, downmix to mono and resample.

    Every failure is an AudioLoadError whose message names the file and the problem.
    """
    import soundfile as sf

    path = Path(path)
    name = path.name or str(path)
    if not path.exists():
        raise AudioLoadError(f"{name}: no such file")
    if path.is_dir():
        raise AudioLoadError(f"{name}: is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioLoadError(f"{name}: the file is empty")
    try:
        with _decoder_stderr_silenced(), sf.SoundFile(str(path)) as f:
            rate, channels = int(f.samplerate), int(f.channels)
            if rate <= 0 or channels <= 0:
                raise AudioLoadError(f"{name}: invalid header ({channels} channels at {rate} Hz)")
            limit = f.frames if max_seconds is None else min(f.frames, int(max_seconds * rate))
            data = f.read(limit, dtype="float32", always_2d=True)
            truncated = limit < f.frames
    except AudioLoadError:
        raise
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError):
        # libsndfile's own words mislead here ("does not exist or is not a
        # regular file" for a damaged MP3), so say what it means.
        raise AudioLoadError(f"{name}: not a readable audio file (unknown format, or damaged)") from None
    except OSError as exc:
        raise AudioLoadError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    except MemoryError:
        raise AudioLoadError(f"{name}: too large to load") from None
    if data.size == 0:
        raise AudioLoadError(f"{name}: contains no audio")
    if not np.isfinite(data).all():
        raise AudioLoadError(f"{name}: contains invalid (NaN or infinite) samples")
    mono = data.mean(axis=1, dtype=np.float32) if channels > 1 else data[:, 0]
    return LoadedAudio(resample(mono, rate, sample_rate), sample_rate, rate, channels, truncated)


_stderr_lock = threading.Lock()


@contextmanager
def _decoder_stderr_silenced():
    """libmpg123 prints warnings about damaged MP3s straight to file descriptor 2;
    the user gets our one-line message instead."""
    with _stderr_lock:
        try:
            saved = os.dup(2)
        except OSError:  # no stderr at all (a GUI started without a console)
            yield
            return
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 2)
            os.close(null)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def resample(x: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """``x`` at ``to_rate``, as many samples as soxr gives (n * to / from, rounded).

    Its ends are resampled as the music going on, not as a cut to silence: a clip ends mid-wave
    (a recording stopped, a selection), and a resampler that sees zeros past the end rings there and
    pulls the last sample towards zero (a quarter of its value where it falls half an input sample
    past the end). That last sample is where a continuation starts, and it clicked. So each end is
    first extended by its odd reflection (value and slope carry on) over RESAMPLE_EDGE_SECONDS, in
    whole periods of the two rates, so the output's grid still starts on the first sample."""
    x = np.asarray(x, dtype=np.float32)
    if from_rate == to_rate:
        return np.ascontiguousarray(x)
    import soxr

    length = int(len(x) / (from_rate / to_rate) + 0.5)  # soxr's own count, to the bit
    if len(x) < 2:
        return soxr.resample(x, from_rate, to_rate, quality="HQ").astype(np.float32)[:length]
    common = math.gcd(from_rate, to_rate)
    periods = max(1, math.ceil(RESAMPLE_EDGE_SECONDS * common))  # whole periods of from/common input samples
    pad_in, pad_out = periods * (from_rate // common), periods * (to_rate // common)
    before = np.pad(x[:pad_in + 1], (pad_in, 0), mode="reflect", reflect_type="odd")[:pad_in]
    after = np.pad(x[-pad_in - 1:], (0, pad_in), mode="reflect", reflect_type="odd")[-pad_in:]
    # Streamed in pieces into the output, so a ten-minute clip is not copied whole to extend it by
    # milliseconds.
    stream = soxr.ResampleStream(from_rate, to_rate, 1, dtype="float32", quality="HQ")
    pieces = [before] + [x[i:i + _RESAMPLE_PIECE] for i in range(0, len(x), _RESAMPLE_PIECE)] + [after]
    out = np.empty(length, np.float32)
    done = -pad_out  # output samples so far, counted from the clip's first
    for i, piece in enumerate(pieces):
        y = stream.resample_chunk(piece, last=i == len(pieces) - 1)
        lo, hi = max(done, 0), min(done + len(y), length)
        if hi > lo:
            out[lo:hi] = y[lo - done:hi - done]
        done += len(y)
    return out[:max(0, min(done, length))]


def find_audio_files(folders) -> list[Path]:
    """All audio files under the folders (or files) given, sorted for reproducibility."""
    found: list[Path] = []
    for entry in map(Path, folders):
        if entry.is_file():
            found.append(entry)
        elif entry.is_dir():
            found.extend(p for p in entry.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
        else:
            raise AudioLoadError(f"{entry}: no such file or folder")
    return sorted(set(found))


def write_wav(path: str | os.PathLike, samples: np.ndarray, sample_rate: int, bits: str = "float", *,
              title: str = "", comment: str = "", chunks: bytes = b"") -> Path:
    """Write audio (mono, or frames x channels) atomically: a temp file beside the target, fsync,
    then rename. ``title`` and ``comment`` go into a LIST/INFO chunk, ``chunks`` (whole RIFF
    chunks) after the data.

    On any failure the temp file is removed and the target is left as it was.
    """
    import soundfile as sf

    if bits not in EXPORT_SUBTYPES:
        raise ExportError(f"unknown sample format {bits!r}; use one of {', '.join(EXPORT_SUBTYPES)}")
    path = Path(path)
    if not path.parent.is_dir():
        raise ExportError(f"cannot write {path}: folder {path.parent} does not exist")
    samples = np.asarray(samples, np.float32)
    if bits != "float":
        samples = np.clip(samples, -1.0, 1.0)
    try:
        # Encoded in memory, written by Python: soundfile swallows an OSError raised while it
        # writes to a file object (a full disk then surfaced as a bare AssertionError).
        encoded = io.BytesIO()
        with sf.SoundFile(encoded, "w", sample_rate, 1 if samples.ndim == 1 else samples.shape[1],
                          EXPORT_SUBTYPES[bits], format="WAV") as f:
            if title:
                f.title = title
            if comment:
                f.comment = comment
            f.write(samples)
        if chunks:
            encoded.seek(0, io.SEEK_END)
            if encoded.tell() % 2:
                encoded.write(b"\0")  # RIFF chunks start on even offsets
            encoded.write(chunks)
            encoded.seek(4)
            encoded.write(struct.pack("<I", len(encoded.getbuffer()) - 8))  # the RIFF size, now with them
        with atomic_file(path) as raw:
            raw.write(encoded.getbuffer())
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise ExportError(f"cannot write {path}: {_short(exc)}") from None
    return path


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__
