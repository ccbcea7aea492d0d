import numpy as np
import pytest
from synth import SR, tone

from musicgen_gui.core.errors import ModelError
from musicgen_gui.core.features import FADE_SAMPLES, FeatureConfig, Normaliser, align_to_frames, fade_in, \
    frame_count, frame_level, log_power, log_to_magnitude, to_decibels, with_neighbours

CFG = FeatureConfig()


def test_full_scale_sine_on_a_bin_centre_has_log_power_zero_at_its_bin():
    k = 40
    x = tone(k * SR / CFG.n_fft, 1.0, amp=1.0)
    frames = log_power(x, CFG)
    assert frames.shape == (frame_count(len(x), CFG), 512)
    assert np.all(frames.argmax(axis=1) == k)
    assert np.allclose(frames[:, k], 0.0, atol=0.01)
    # Far from the tone the floor (-100 dB) is reached, not -inf.
    assert to_decibels(frames[:, 400]).max() < -60
    assert np.isfinite(frames).all()


def test_magnitude_inverts_log_power():
    x = tone(1000, 0.5, amp=0.5)
    frames = log_power(x, CFG)
    mag = log_to_magnitude(frames, CFG)
    # Off a bin centre, Hann's scalloping loses up to 1.42 dB (x0.85).
    assert 0.5 * 0.84 < mag.max() <= 0.5 * 1.01


def test_alignment_puts_the_last_frame_on_the_last_sample():
    x = np.arange(10_000, dtype=np.float32)
    aligned = align_to_frames(x, CFG)
    assert aligned[-1] == x[-1]
    assert (len(aligned) - CFG.n_fft) % CFG.hop == 0
    assert len(x) - len(aligned) < CFG.hop


def test_normaliser_round_trip_and_unit_variance():
    rng = np.random.default_rng(0)
    frames = rng.normal(-20, 5, size=(1000, 512)).astype(np.float32)
    norm = Normaliser.fit(frames)
    z = norm.normalise(frames)
    assert np.allclose(z.mean(axis=0), 0, atol=1e-3)
    assert np.allclose(z.std(axis=0), 1, atol=1e-2)
    assert np.allclose(norm.denormalise(z), frames, atol=1e-3)


@pytest.mark.parametrize("bad", [{"n_fft": 1000}, {"hop": 0}, {"n_bins": 600}, {"sample_rate": 100}])
def test_invalid_feature_settings_are_refused(bad):
    with pytest.raises(ModelError):
        FeatureConfig(**bad)


def test_a_signal_shorter_than_one_frame_has_no_frames():
    assert log_power(np.zeros(100, np.float32), CFG).shape == (0, 512)


def test_frame_level_is_the_log_of_each_frame_s_total_power_at_any_level():
    frames = np.log(np.array([[1.0, 2.0, 3.0], [0.5, 0.25, 0.25]]))
    assert frame_level(frames) == pytest.approx(np.log([6.0, 1.0]))
    assert frame_level(frames + 1000.0) == pytest.approx(np.log([6.0, 1.0]) + 1000.0)  # exp would overflow


def test_a_fade_in_rises_from_silence_and_reversed_ends_in_it():
    ramp = fade_in()
    assert len(ramp) == FADE_SAMPLES and ramp[0] == 0.0 and ramp[::-1][-1] == 0.0
    assert (np.diff(ramp) > 0).all() and ramp[-1] < 1.0


def test_with_neighbours_reduces_each_bin_with_the_bins_either_side_wrapping_round():
    x = np.random.default_rng(0).normal(size=(5, 9)).astype(np.float32)
    for reduce in (np.maximum, np.minimum):
        expected = reduce(x, reduce(np.roll(x, 1, axis=1), np.roll(x, -1, axis=1)))
        assert np.array_equal(with_neighbours(x, reduce), expected)
    peak = np.zeros((1, 6), np.float32)
    peak[0, 2] = 1.0
    assert with_neighbours(peak).tolist() == [[0, 1, 1, 1, 0, 0]]
    assert with_neighbours(-peak, np.minimum).tolist() == [[0, -1, -1, -1, 0, 0]]
