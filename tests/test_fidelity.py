"""The fidelity measures (issue 11) catch what they must, on real synthesised audio: a transposed
continuation loses the key, one off the seed's tempo the beat, a filtered one the timbre, a loop of
the seed under noise is a replay while a new melody of the same notes is not, and so on."""

import numpy as np
import pytest
import scipy.signal
from synth import SCALE, SR, chord, drum_loop, tone, tune

from musicgen_gui.core import evaluation as ev
from musicgen_gui.core.features import FeatureConfig

CFG = FeatureConfig()
FPS = CFG.frames_per_second


def noisy(x, snr_db, rng_seed=0):
    """``x`` with white noise ``snr_db`` below its power."""
    noise = np.random.default_rng(rng_seed).standard_normal(len(x))
    return (x + noise * np.sqrt(np.mean(np.square(x, dtype=np.float64)) / 10 ** (snr_db / 10))).astype(np.float32)


def lowpass(x, hz):
    return scipy.signal.sosfilt(scipy.signal.butter(6, hz, fs=SR, output="sos"), x).astype(np.float32)


@pytest.fixture(scope="module")
def seed():
    return tune(8.0, 1)


@pytest.fixture(scope="module")
def profile(seed):
    return ev.SeedProfile.from_audio(seed, SR)


def key(x, profile):
    return ev.key_correlation(ev.mean_chroma(x, SR, profile.tuning), profile.chroma)


def test_a_transposed_continuation_loses_the_key_and_more_of_the_same_notes_keeps_it(profile):
    assert key(tune(12.0, 2), profile) > 0.8  # a new order of the same five notes
    tritone = tuple(f * 2 ** (6 / 12) for f in SCALE)
    assert key(tune(12.0, 3, tritone), profile) < 0  # no pitch in common
    # Noise has no key: an STFT chroma's uneven bins gave it a profile like a C-major melody's.
    assert abs(key(noisy(np.zeros(12 * SR, np.float32) + 1e-3, -60), profile)) < ev.MIN_KEY_CORRELATION
    assert ev.key_correlation(np.ones(12), profile.chroma) == 0.0


@pytest.fixture(scope="module")
def drums():
    return ev.SeedProfile.from_audio(drum_loop(8.0, bpm=120), SR)


def test_a_continuation_without_the_seeds_beat_loses_the_beat(drums):
    assert drums.has_beat and drums.tempo_bpm(SR) == pytest.approx(120, rel=0.05)
    beat = lambda x: ev.periodicity(ev.onset_envelope(x, SR), drums.beat_period)  # noqa: E731
    assert beat(drum_loop(12.0, bpm=120, seed=1)) > 0.5
    assert beat(drum_loop(12.0, bpm=97, seed=1)) < ev.MIN_BEAT_STRENGTH  # a tempo of its own
    assert beat(noisy(np.zeros(12 * SR, np.float32) + 1e-3, -60)) < ev.MIN_BEAT_STRENGTH


def test_a_seed_without_a_clear_beat_is_not_judged_on_it(seed, drums):
    for beatless in (chord(seconds=8.0), noisy(np.zeros(8 * SR, np.float32) + 1e-3, -60)):
        profile = ev.SeedProfile.from_audio(beatless, SR)
        assert not profile.has_beat
        scores = ev.score_continuation(CFG, profile, beatless, chord(seconds=8.0), beatless, beatless, None)
        assert scores.beat_strength is None and "beat" not in scores.failures()
    # The melody's notes fall every 0.25 s: it has a beat.
    assert ev.SeedProfile.from_audio(seed, SR).has_beat


def test_a_filtered_continuation_loses_the_timbre_and_a_quieter_one_keeps_it():
    seed = drum_loop(8.0)
    bands = ev.band_levels_db(seed, SR)
    more = drum_loop(12.0)  # the same drums going on
    assert ev.timbre_deviation_db(ev.band_levels_db(more, SR), bands) < 1
    # The level alone is the level target's: 10 dB down changes no band's share.
    assert ev.timbre_deviation_db(ev.band_levels_db(0.3 * more, SR), bands) < 1
    # Everything above 2 kHz gone, as on the electronic seeds.
    assert ev.timbre_deviation_db(ev.band_levels_db(lowpass(more, 2000), SR), bands) > 2 * ev.MAX_TIMBRE_DB
    # A band that holds nothing audible on either side cannot decide (floored TIMBRE_RANGE_DB down).
    empty = lambda level: np.r_[bands[:-1], level]  # noqa: E731
    assert ev.timbre_deviation_db(empty(-150.0), empty(-200.0)) == 0.0


def test_a_loop_of_the_seed_under_noise_is_a_replay_and_a_new_melody_of_its_notes_is_not(seed):
    seed_db = ev.mel_db(seed, CFG)
    floored = lambda x: np.maximum(ev.mel_db(x, CFG), seed_db.max() - ev.DYNAMIC_RANGE_DB)  # noqa: E731
    loop = floored(noisy(np.tile(seed, 3), snr_db=10))  # 8 s is not a whole number of hops
    assert ev.replay_fraction(loop, seed_db, FPS) == 1.0
    assert ev.copy_fraction(loop, floored(seed)) < ev.MAX_COPY_FRACTION  # what the frame copy cannot see
    assert ev.replay_fraction(floored(0.5 * np.tile(seed, 3)), seed_db, FPS) == 1.0  # quieter, still a replay
    new = floored(tune(20.0, 2))  # the same notes and sound in a new order
    assert ev.replay_fraction(new, seed_db, FPS) == 0.0
    assert ev.replay_correlations(new, seed_db, FPS).max() < ev.REPLAY_CORRELATION
    assert ev.replay_fraction(floored(chord(seconds=20.0)), seed_db, FPS) == 0.0


def test_loudness_follows_bs1770_and_catches_6_db_louder(seed, profile):
    # BS.1770's reference: a full-scale 997 Hz sine reads -3.01 LUFS (pyloudnorm's filters, at 22,050 Hz).
    assert ev.integrated_loudness(tone(997.0, 5.0, amp=1.0), SR) == pytest.approx(-3.01, abs=0.1)
    more = tune(12.0, 2)
    same = ev.loudness_differences(more, profile.loudness_lufs, SR)
    assert len(same) == 10  # 3 s windows every 1 s over 12 s
    assert np.max(np.abs(same)) < 1.0
    louder = ev.loudness_differences(2.0 * more, profile.loudness_lufs, SR)
    assert np.median(louder) == pytest.approx(6.0, abs=0.5) and np.max(np.abs(louder)) > ev.MAX_LOUDNESS_LU
    assert ev.short_term_loudness(np.zeros(SR, np.float32), SR).tolist() == [ev.LOUDNESS_FLOOR_LUFS]
    # A steady tone of 21.5 s reads the same in each window, the last (2.5 s of it inside) too.
    steady = ev.short_term_loudness(tone(440.0, 21.5), SR)
    assert len(steady) == 20 and np.ptp(steady) < 0.05


def test_clipped_samples_are_counted_and_the_true_peak_sees_between_samples(seed):
    clipped = np.clip(8.0 * seed, -1.0, 1.0)
    assert ev.clipped_fraction(seed) == 0.0 and ev.clipped_fraction(clipped) > 0.3
    # A sine at a quarter of the rate sampled 45 degrees off its crests: samples reach -3 dB, the wave 0 dBTP.
    x = np.sin(2 * np.pi * np.arange(SR) / 4 + np.pi / 4).astype(np.float32)
    assert 20 * np.log10(np.max(np.abs(x))) == pytest.approx(-3.01, abs=0.01)
    assert ev.true_peak_dbtp(x) == pytest.approx(0.0, abs=0.2)


@pytest.mark.slow
def test_a_continuation_is_scored_after_the_first_two_seconds_against_the_truths_own(seed, profile):
    # Two seconds of something else after the seam, then more of the seed's music: the skip hides the former.
    more = tune(24.0, 2)
    continuation = np.concatenate([noisy(np.zeros(2 * SR, np.float32) + 1e-3, -60), more[2 * SR:]])
    frozen = np.repeat(seed[-1:], len(more))
    for end in ev.HORIZONS.values():
        scores = ev.score_continuation(CFG, profile, seed, continuation, more, frozen, end)
        truth = ev.score_continuation(CFG, profile, seed, more, more, frozen, end)
        assert scores.key_correlation == pytest.approx(truth.key_correlation)
        assert scores.timbre_db == pytest.approx(truth.timbre_db)
        # The same notes with the same synthetic sound: frame copies, so only the copy target fails.
        assert truth.failures() == ["copy"] and truth.frechet == pytest.approx(0.0, abs=1e-6)
        # The noise is in the loudness (from 0.5 s) and the peaks (from the seam).
        assert scores.loudness_max_lu > truth.loudness_max_lu
    clipped = ev.score_continuation(CFG, profile, seed, np.clip(8 * more, -1, 1), more, frozen, None)
    assert not clipped.peaks_kept and not clipped.loudness_kept
