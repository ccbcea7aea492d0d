import os
import stat
import subprocess

import numpy as np
import pytest
import soundfile as sf
from mounts import tmpfs
from synth import SR, peak_frequency, tone

from musicgen_gui.core.audio_io import AUDIO_EXTENSIONS, AUDIO_KINDS, load_audio, write_wav
from musicgen_gui.core.errors import AudioLoadError, ExportError


def test_stereo_44k_flac_becomes_mono_at_the_model_rate(tmp_path):
    path = tmp_path / "in.flac"
    left = tone(440, 1.0, sr=44100)
    sf.write(path, np.stack([left, left], axis=1), 44100)
    audio = load_audio(path, SR)
    assert (audio.source_rate, audio.source_channels, audio.sample_rate) == (44100, 2, SR)
    assert abs(len(audio.samples) - SR) <= 1
    assert abs(peak_frequency(audio.samples, SR) - 440) < 2


@pytest.mark.parametrize("rate", [44100, 48000])
def test_a_recording_cut_mid_chord_keeps_its_last_samples_when_resampled(tmp_path, rate):
    """A recording stopped mid-chord ends mid-wave, and its last samples are where the continuation
    starts. Resampled as if silence followed, they rang and the last one fell towards zero (by up to 0.06
    and 0.05 here, most where it lies half an input sample past the end), and the seam clicked."""
    def chord(t):
        return 0.25 * (np.sin(2 * np.pi * 261.6 * t + 1) + np.sin(2 * np.pi * 329.6 * t + 2) + np.sin(2 * np.pi * 392 * t))

    for extra in range(8):  # ends at every phase of the two rates
        n = rate + 1000 + extra
        path = tmp_path / f"cut{extra}.wav"
        sf.write(path, chord(np.arange(n) / rate).astype(np.float32), rate, subtype="FLOAT")
        audio = load_audio(path, SR)
        assert len(audio.samples) == int(n / (rate / SR) + 0.5)
        expected = chord(np.arange(len(audio.samples)) / SR)
        assert np.abs(audio.samples[-50:] - expected[-50:]).max() < 2e-3
        assert np.abs(audio.samples[:50] - expected[:50]).max() < 2e-3


def test_messages_name_every_kind_of_file_that_opens():
    """The kinds the help and errors list are the extensions that open (.oga and .aif are spellings
    of ogg and aiff)."""
    kinds = {"." + k for k in AUDIO_KINDS.split(", ")}
    assert kinds == set(AUDIO_EXTENSIONS) - {".oga", ".aif"}


def test_nan_samples_and_non_audio_are_refused(tmp_path):
    bad = tmp_path / "nan.wav"
    x = tone(440, 0.5)
    x[100] = np.nan
    sf.write(bad, x, SR, subtype="FLOAT")
    with pytest.raises(AudioLoadError, match="NaN"):
        load_audio(bad, SR)
    text = tmp_path / "notes.mp3"
    text.write_text("not audio at all")
    with pytest.raises(AudioLoadError, match="notes.mp3: not a readable audio file"):
        load_audio(text, SR)
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioLoadError, match="empty.wav: the file is empty"):
        load_audio(tmp_path / "empty.wav", SR)


@pytest.mark.parametrize("bits,subtype", [("16", "PCM_16"), ("24", "PCM_24"), ("float", "FLOAT")])
def test_export_formats_and_ordinary_permissions(tmp_path, bits, subtype):
    out = write_wav(tmp_path / "x.wav", tone(440, 0.25), SR, bits)
    info = sf.info(out)
    assert (info.subtype, info.samplerate, info.channels, info.frames) == (subtype, SR, 1, SR // 4)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o666 & ~_umask()


@pytest.mark.parametrize("disk", ["full", "read-only"])
def test_failed_export_keeps_the_old_file_and_leaves_no_partial(tmp_path, disk):
    """On a real file system that is too small, or mounted read-only after the first export."""
    folder = tmp_path / "disk"
    old = tone(440, 0.25)
    with tmpfs(folder, size="96k") as mounted:
        out = write_wav(mounted / "keep.wav", old, SR, "float")  # 22 kB: the new one (88 kB) does not fit beside it
        before = out.read_bytes()
        if disk == "read-only":
            subprocess.run(["mount", "-o", "remount,ro", str(mounted)], check=True)
        reason = "No space left on device" if disk == "full" else "Read-only file system"
        with pytest.raises(ExportError, match=reason):
            write_wav(out, tone(220, 1.0), SR, "float")
        assert out.read_bytes() == before
        assert [p.name for p in mounted.iterdir()] == ["keep.wav"]


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
