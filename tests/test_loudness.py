"""The loudness follower and the true-peak limiter, on real signals."""

import numpy as np
import pytest
from synth import SR, chord, drum_loop, melody

from musicgen_gui.core.loudness import (CEILING_DBTP, SHORT_TERM_MARGIN_LU, Leveler, TruePeakLimiter,
                                        integrated_loudness, mean_square_loudness, peak_gain, true_peak)

MUSIC = np.tile(chord(seconds=2.0) + drum_loop(2.0), 5)  # 10 s


def stream(processor, x, block=512):
    return np.concatenate([processor.process(x[i:i + block]) for i in range(0, len(x), block)])


def test_integrated_loudness_agrees_with_pyloudnorm():
    pyloudnorm = pytest.importorskip("pyloudnorm")
    for x in (MUSIC, melody((220.0, 330.0, 440.0), 4000, 20), 0.05 * MUSIC):
        reference = pyloudnorm.Meter(SR).integrated_loudness(x.astype(np.float64))
        assert integrated_loudness(x, SR) == pytest.approx(reference, abs=0.3)


def test_silence_has_no_loudness():
    assert integrated_loudness(np.zeros(SR * 2, np.float32), SR) == -np.inf


@pytest.mark.parametrize("offset_db", [-12.0, 8.0])
def test_leveler_brings_a_quieter_or_hotter_signal_to_the_target(offset_db):
    target = integrated_loudness(MUSIC, SR)
    leveler = Leveler(SR, target)
    out = stream(leveler, MUSIC * np.float32(10 ** (offset_db / 20)))
    assert len(out) == len(MUSIC) - leveler.delay
    out = np.concatenate([out, leveler.flush()])  # the end: what its look-aheads held, nothing lost
    assert len(out) == len(MUSIC)
    # Every 3 s window after the first 0.5 s, as the evaluation measures it.
    windows = [integrated_loudness(out[s:s + 3 * SR], SR) for s in range(SR // 2, len(out) - 3 * SR + 1, SR)]
    assert np.max(np.abs(np.array(windows) - target)) < 1.0, windows
    assert 20 * np.log10(true_peak(out).max()) <= CEILING_DBTP + 0.05


def short_term(out, start=SR // 2):
    """Every 3 s window's loudness, a second apart, as the evaluation measures it."""
    return np.array([mean_square_loudness(out[s:s + 3 * SR], SR) for s in range(start, len(out) - 3 * SR, SR)])


def test_the_music_s_own_phrasing_passes_while_its_loudness_stays_the_seed_s():
    """4 s of music, then 4 s of it 6 dB softer, over and over: the soft phrases stay soft
    (a short window flattened them), and the whole is as loud as the seed."""
    target = integrated_loudness(MUSIC, SR)
    phrases = np.concatenate([MUSIC[:4 * SR], np.float32(10 ** (-6 / 20)) * MUSIC[:4 * SR]] * 5)
    out = stream(Leveler(SR, target), phrases * np.float32(10 ** (-5 / 20)))  # and 5 dB too quiet overall
    loud = [mean_square_loudness(out[s + SR:s + 3 * SR], SR) for s in range(8 * SR, len(out) - 8 * SR, 8 * SR)]
    soft = [mean_square_loudness(out[s + SR:s + 3 * SR], SR) for s in range(12 * SR, len(out) - 8 * SR, 8 * SR)]
    assert np.median(loud) - np.median(soft) > 4.0, (loud, soft)
    windows = short_term(out, 8 * SR)
    assert abs(np.median(windows) - target) < 1.0 and np.abs(windows - target).max() < 6.0, np.round(windows, 1)


def test_a_long_dip_is_kept_within_a_few_lu_of_the_seed():
    """6 s of music, then 6 s of it 20 dB softer, three times: the dip is brought up to
    within SHORT_TERM_MARGIN_LU (the evaluation allows 6), not left 20 dB down."""
    target = integrated_loudness(MUSIC, SR)
    phrases = np.concatenate([np.tile(MUSIC, 1)[:6 * SR], np.float32(0.1) * MUSIC[:6 * SR]] * 3)
    windows = short_term(stream(Leveler(SR, target), phrases))
    assert np.abs(windows - target).max() < SHORT_TERM_MARGIN_LU + 1.0, np.round(windows, 1)
    assert np.abs(windows - target).max() > 2.0  # the dip is still heard as one


def test_a_seed_mastered_into_full_scale_is_followed_that_loud_without_clipping():
    hot = np.clip(MUSIC * 2.0, -1.0, 1.0)  # 5 % of its samples clipped
    target = integrated_loudness(hot, SR)
    out = stream(Leveler(SR, target), hot * np.float32(0.5))
    assert np.count_nonzero(np.abs(out) >= 0.999) == 0
    assert integrated_loudness(out[SR:], SR) == pytest.approx(target, abs=1.5)


def test_leveler_leaves_loudness_alone_without_a_target_but_still_limits():
    hot = MUSIC * np.float32(4.0)  # peaks far past full scale
    leveler = Leveler(SR, None)
    out = stream(leveler, hot)
    assert 20 * np.log10(true_peak(out).max()) <= CEILING_DBTP + 0.05
    quiet = MUSIC * np.float32(0.1)
    out = stream(Leveler(SR, None), quiet)
    assert np.allclose(out, quiet[:len(out)], atol=1e-6)  # untouched, only delayed


def test_no_peak_between_samples_reads_above_the_limiters_bound():
    """The limiter skips the oversampling for a block whose largest sample, times peak_gain(), stays
    under the ceiling: the bound must hold for any signal, and not be loose (sign patterns that
    follow the filter's taps come within 1 % of it)."""
    bound = peak_gain()
    rng = np.random.default_rng(0)
    signs = np.sign(rng.standard_normal((4000, 48)))
    peaks = np.array([true_peak(x).max() for x in signs])
    assert peaks.max() <= bound * (1 + 1e-9)
    assert peaks.max() >= 0.99 * bound
    music = MUSIC[:SR] / np.abs(MUSIC[:SR]).max()
    assert true_peak(music).max() <= bound


def test_limiter_meets_the_ceiling_and_passes_quiet_samples_unchanged():
    t = np.arange(SR) / SR
    x = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    x[SR // 2:SR // 2 + 200] *= 4.0  # a 1.2 (+1.6 dBFS) burst
    limiter = TruePeakLimiter(SR)
    out = stream(limiter, x, block=300)
    assert len(out) == len(x) - limiter.delay
    assert true_peak(out).max() <= 10 ** (CEILING_DBTP / 20) + 1e-3
    # Away from the burst the sine goes through untouched.
    assert np.array_equal(out[:SR // 4], x[:SR // 4])
    assert np.allclose(out[SR // 2 + 2000:], x[SR // 2 + 2000:len(out)], atol=1e-6)
    # Only the burst and the ramps around it are turned down.
    assert 0 < limiter.reduced_samples < 1000


def test_no_level_jump_where_the_seed_ends_softer_than_its_average():
    target = integrated_loudness(MUSIC, SR)
    out = stream(Leveler(SR, target, start_lufs=target - 8.0), MUSIC)
    assert mean_square_loudness(out[:SR // 2], SR) == pytest.approx(target - 8.0, abs=1.5)
    assert integrated_loudness(out[3 * SR:6 * SR], SR) == pytest.approx(target, abs=0.5)


def test_empty_blocks_change_nothing():
    """The phase reconstruction's first pushes return no samples."""
    target = integrated_loudness(MUSIC, SR)
    plain = stream(Leveler(SR, target), MUSIC)
    leveler = Leveler(SR, target)
    with_empty = np.concatenate([leveler.process(np.zeros(0, np.float32)) for _ in range(4)] + [stream(leveler, MUSIC)])
    assert np.array_equal(plain, with_empty)
