"""The learned onset detector: it hears note changes that have no attack, and a damaged file is refused."""

import numpy as np
import pytest
from synth import SR, drum_loop

from musicgen_gui.core import analysis
from musicgen_gui.core.bundle import models_dir
from musicgen_gui.core.errors import ModelError
from musicgen_gui.core.features import FeatureConfig, log_power
from musicgen_gui.core.onsets import FILE_NAME, fits, load_detector, onset_activation

CFG = FeatureConfig()
NOTES = (220.0, 261.63, 329.63, 293.66, 246.94, 220.0, 349.23, 329.63)  # A C E D B A F E


def legato(bpm: float, seconds: float) -> np.ndarray:
    """One voice that changes note on every beat with no attack: its phase runs on and its level
    stays the same, as a bowed or sung line can."""
    n = int(seconds * SR)
    note = (np.arange(n) / SR * bpm / 60.0).astype(int) % len(NOTES)
    phase = 2 * np.pi * np.cumsum(np.asarray(NOTES)[note]) / SR
    return (0.2 * sum(np.sin(k * phase) / k for k in range(1, 7))).astype(np.float32)


def test_the_bundled_detector_loads():
    context, layers, framing = load_detector()
    assert context >= 1 and len(layers) == 6 and framing == (CFG.sample_rate, CFG.n_fft, CFG.hop)
    assert all(np.isfinite(w).all() for w in layers)
    with np.load(models_dir() / FILE_NAME, allow_pickle=False) as f:  # what it learned from, and their licences
        assert "Bach chorales" in str(f["provenance"]) and "FluidR3_GM.sf2 (MIT)" in str(f["provenance"])


def test_frames_of_another_rate_are_read_on_the_bands_alone():
    """The detector's context is a count of frames and its bands a count of bins: at 44.1 kHz it
    would hear other music, so a model of that rate reads its tempo without it."""
    cfg = FeatureConfig(sample_rate=44100)
    assert fits(CFG) and not fits(cfg)
    clip = drum_loop(8.0, bpm=100)
    fast = np.interp(np.arange(0, len(clip), 0.5), np.arange(len(clip)), clip).astype(np.float32)  # 44.1 kHz
    a = analysis.analyse(fast, cfg)
    assert a.beat is not None and a.beat.quarter_bpm == pytest.approx(100, rel=0.01), a.describe()


def test_it_fires_where_a_legato_line_changes_note_and_nowhere_else():
    bpm = 100
    activation = onset_activation(log_power(legato(bpm, 10.0), CFG), CFG)
    changes = np.arange(60.0 / bpm, 9.9, 60.0 / bpm) * CFG.frames_per_second
    distance = np.abs(np.arange(len(activation))[:, None] - changes[None, :]).min(axis=1)
    near, far = activation[distance <= 2], activation[distance >= 5]
    assert near.max() > 0.5 and far.max() < 0.1
    # Each change is found: the peak within two frames of every one stands out.
    peaks = [activation[max(0, int(c) - 2):int(c) + 3].max() for c in changes]
    assert min(peaks) > 0.3


def test_a_held_chord_and_silence_give_no_notes():
    t = np.arange(8 * SR) / SR
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.18, 329.63)).astype(np.float32) * 0.2
    activation = onset_activation(log_power(chord, CFG), CFG)
    assert activation[20:].max() < 0.1  # after the chord's own start
    # Digital silence gives the same value on every frame: nothing the tempo could lock on to.
    assert np.ptp(onset_activation(log_power(np.zeros(4 * SR, np.float32), CFG), CFG)) < 1e-6


@pytest.mark.parametrize("bpm", [70, 100, 130, 150])
def test_a_legato_line_reads_its_tempo_in_simple_time(bpm):
    """Its peaks are narrower than the bands' attacks; read as they are, they made the beat
    compound (130 BPM shown as 195)."""
    a = analysis.analyse(legato(bpm, 10.0), CFG)
    assert a.beat is not None and not a.beat.compound
    assert a.beat.quarter_bpm == pytest.approx(bpm, rel=0.01), a.describe()


def test_a_damaged_detector_file_is_refused_with_one_line(tmp_path):
    bad = tmp_path / "onsets.npz"
    bad.write_bytes(b"not a numpy archive")
    with pytest.raises(ModelError) as caught:
        load_detector(bad)
    assert "\n" not in str(caught.value) and "rebuild.sh onsets" in str(caught.value)
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, context=np.int32(2), sample_rate=22050, n_fft=1024, hop=512,
             **{f"{k}{i}": np.zeros((3, 3), np.float32) for i in range(3) for k in "wb"})
    with pytest.raises(ModelError, match="does not fit"):
        load_detector(wrong)
