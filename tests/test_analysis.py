"""Tempo and key readouts on real signals."""

import numpy as np
import pytest
from synth import SR, chord, drum_loop, piano_note

from musicgen_gui.core.analysis import analyse
from musicgen_gui.core.features import FeatureConfig, log_power

CFG = FeatureConfig()


def describe(x):
    return analyse(log_power(x, CFG), CFG)


@pytest.mark.parametrize("bpm", [90, 120, 140])
def test_tempo_of_a_drum_loop(bpm):
    a = describe(drum_loop(10.0, bpm=bpm))
    assert a.beat is not None and a.beat.bpm == pytest.approx(bpm, rel=0.03)


def test_key_of_a_melody_in_a_minor_and_in_e_flat_major():
    a_minor = (220.0, 261.63, 329.63, 293.66, 246.94, 220.0, 329.63, 440.0)
    e_flat = (311.13, 392.0, 466.16, 349.23, 293.66, 311.13, 466.16, 622.25)
    for notes, name in ((a_minor, "A minor"), (e_flat, "Eb major")):
        x = np.tile(np.concatenate([piano_note(f, SR // 2) for f in notes]), 3)
        assert describe(x).key.name == name


def test_noise_has_no_tempo_or_key_and_silence_is_silent():
    noise = (0.1 * np.random.default_rng(0).standard_normal(10 * SR)).astype(np.float32)
    a = describe(noise)
    assert (a.beat, a.key, a.silent) == (None, None, False)
    assert a.describe() == "tempo none · key none"
    assert describe(np.zeros(5 * SR, np.float32)).silent


def test_describe_reads_tempo_and_key():
    x = drum_loop(8.0, bpm=120) + chord((220.0, 261.63, 329.63), seconds=8.0)
    assert describe(x).describe() == "120 BPM · A minor"
