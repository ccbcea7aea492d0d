"""What a listener notices (issue 17): attacks, fine spectral detail, self-repetition, movement and
loudness range, each on real synthesised audio against a copy that lacks what the measure reads."""

import numpy as np
import pytest
from scipy.ndimage import uniform_filter1d
from scipy.signal import istft, stft
from synth import SR, chord, tune

from musicgen_gui.core.evaluation import metrics
from musicgen_gui.core.features import FeatureConfig

CFG = FeatureConfig()
FPS = CFG.frames_per_second


def mel(x):
    return metrics.mel_db(x, CFG)


def smeared(x, frames=1, bins=1):
    """``x`` with its STFT magnitude averaged over ``frames`` frames (time) and ``bins`` bins
    (frequency), its phase kept: what a model predicting a blend of what may come does."""
    _, _, spec = stft(x, SR, nperseg=1024, noverlap=768)
    magnitude = uniform_filter1d(uniform_filter1d(np.abs(spec), frames, axis=1), bins, axis=0)
    y = istft(magnitude * np.exp(1j * np.angle(spec)), SR, nperseg=1024, noverlap=768)[1]
    return y[:len(x)].astype(np.float32)


@pytest.fixture(scope="module")
def melody():
    return tune(12.0, 1)  # notes of 0.25 s, each struck and decaying


def test_struck_notes_have_stronger_attacks_than_the_same_notes_smeared_in_time(melody):
    sharp = metrics.onset_strength_db(mel(melody))
    soft = metrics.onset_strength_db(mel(smeared(melody, frames=12)))  # 140 ms
    assert sharp > 1.25 * soft
    # A held chord has no attacks after its first frame.
    assert metrics.onset_strength_db(mel(chord(seconds=12.0))) < 0.5 * soft


def test_a_spectrum_blurred_across_frequency_has_less_fine_detail_whatever_its_level(melody):
    detail = metrics.spectral_detail_db(melody, CFG)
    blurred = metrics.spectral_detail_db(smeared(melody, bins=9), CFG)  # over 190 Hz: harmonics merge
    assert detail > 1.5 * blurred
    # Structure between harmonics, not level: the same music 12 dB quieter reads the same.
    assert metrics.spectral_detail_db(0.25 * melody, CFG) == pytest.approx(detail, abs=0.05)


def test_a_looped_phrase_comes_closer_to_its_own_past_than_a_melody_that_goes_on():
    loop = np.tile(tune(3.0, 2), 4)  # 3 s is not a whole number of hops: the frames do not line up
    looped, fresh = metrics.self_distance_db(mel(loop), FPS), metrics.self_distance_db(mel(tune(12.0, 3)), FPS)
    assert looped < 0.4 * fresh
    # Under 4 s, no 2 s stretch has an earlier one that does not overlap it.
    assert metrics.self_distance_db(mel(tune(3.5, 3)), FPS) is None


def test_a_piece_in_sections_moves_more_than_one_steady_texture():
    steady = tune(24.0, 4)
    low = tune(8.0, 5, scale=(130.81, 146.83, 164.81))
    high = 0.3 * tune(8.0, 6, scale=(1046.5, 1174.66, 1318.51))
    sections = np.concatenate([low, chord(seconds=8.0), high])  # three textures of 8 s
    assert metrics.movement_db(mel(sections), FPS) > 3 * metrics.movement_db(mel(steady), FPS)
    assert metrics.movement_change_db(mel(sections), FPS) > 2 * metrics.movement_change_db(mel(steady), FPS)
    # Under two whole 4 s windows there is nothing to compare.
    assert metrics.movement_db(mel(steady[:7 * SR]), FPS) is None
    assert metrics.movement_change_db(mel(steady[:7 * SR]), FPS) is None


def test_a_quiet_half_and_a_loud_half_have_a_loudness_range_and_a_steady_level_has_none():
    music = tune(24.0, 7)
    steady = metrics.loudness_range_lu(music, SR)
    halves = metrics.loudness_range_lu(np.concatenate([0.25 * music[:12 * SR], music[12 * SR:]]), SR)
    assert steady < 1.0
    assert halves == pytest.approx(12.0, abs=1.5)  # 0.25 in amplitude: 12 dB
    assert metrics.loudness_range_lu(np.zeros(5 * SR, np.float32), SR) == 0.0  # all gated out
