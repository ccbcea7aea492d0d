"""The continuation stays inside the seed's bandwidth: no hiss where the seed has nothing."""

import numpy as np
import pytest
from synth import SR, chord, drum_loop, tone
from testmodels import random_bundle

from musicgen_gui.core.bandlimit import CHUNK_SAMPLES, BandLimit, seed_bandwidth_hz
from musicgen_gui.core.features import FADE_SAMPLES
from musicgen_gui.core.features import FeatureConfig, log_power
from musicgen_gui.core.session import ContinuationParams, ContinuationSession

CFG = FeatureConfig()
CHORD = chord(seconds=4.0)  # C major, pure tones: digitally empty above a few hundred Hz


def hiss(amplitude, n, seed=0):
    return (amplitude * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def band_db(x, low_hz, high_hz=SR / 2):
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    return 10 * np.log10(spectrum[(freqs >= low_hz) & (freqs < high_hz)].sum() + 1e-30)


def test_the_seeds_bandwidth_is_where_its_sound_stops():
    top = seed_bandwidth_hz(log_power(CHORD, CFG), CFG)
    assert 392.0 < top < 1500.0  # above the chord's G, far below Nyquist
    # Sound (or a noise floor) up to the top: nothing to limit.
    assert seed_bandwidth_hz(log_power(drum_loop(4.0), CFG), CFG) is None
    assert seed_bandwidth_hz(log_power(CHORD + hiss(1e-3, len(CHORD)), CFG), CFG) is None


@pytest.mark.slow
def test_a_continuation_of_a_band_limited_seed_has_no_hiss_above_it():
    """A random net sprays noise over the whole spectrum: above a band-limited
    seed's top it is taken out; on a seed with sound up there it is left."""
    bundle = random_bundle()
    above = {}
    for name, seed in (("limited", CHORD), ("full band", CHORD + hiss(1e-3, len(CHORD)))):
        audio = ContinuationSession(bundle, seed, ContinuationParams(4.0, 0.5, 0)).render()[SR:]
        above[name] = band_db(audio, 3000.0) - band_db(audio, 0.0)
    assert above["limited"] < -90.0, above
    assert above["full band"] > -55.0, above


def test_the_band_limit_passes_what_lies_below_it_and_starts_seamlessly():
    seed_tail = tone(440.0, 0.1)
    limit = BandLimit(3000.0, SR, seed_tail)
    x = np.concatenate([tone(440.0, 1.0), hiss(0.1, SR)])  # a tone, then noise
    out = np.concatenate([limit.process(x[i:i + 300]) for i in range(0, len(x), 300)])
    assert len(out) == len(x) // CHUNK_SAMPLES * CHUNK_SAMPLES  # in whole chunks, the rest held back
    out = np.concatenate([out, limit.flush()])
    assert len(out) == len(x)
    assert out[0] == pytest.approx(x[0], abs=1e-3)  # it fades in from the signal as it was
    assert np.max(np.abs(np.diff(out[:FADE_SAMPLES * 2]))) < 1.5 * np.max(np.abs(np.diff(x[:FADE_SAMPLES * 2])))
    # The tone passes (the filter's delay aside: a few samples) and the noise above 3 kHz goes.
    assert band_db(out[SR // 4:SR], 400.0, 480.0) == pytest.approx(band_db(x[SR // 4:SR], 400.0, 480.0), abs=0.5)
    assert band_db(out[SR:], 5000.0) < band_db(x[SR:], 5000.0) - 40.0
    # No cutoff: untouched.
    assert np.array_equal(BandLimit(None, SR, seed_tail).process(x), x)
