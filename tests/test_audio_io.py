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
