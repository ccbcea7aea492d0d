"""Export with the seed at the seed's own quality: read back with soundfile, chunks parsed."""

import numpy as np
import pytest
import soundfile as sf
import soxr
from riff import acid, chunks
from synth import C_MAJOR

from musicgen_gui.core.analysis import analyse
from musicgen_gui.core.audio_io import load_audio
from musicgen_gui.core.export import SEAM_FADE_SECONDS, SeedSource, describe, write_with_seed
from musicgen_gui.core.features import FeatureConfig

RATE, MODEL_RATE = 44100, 22050


def beating_chord(t):
    """A C major chord struck at 120 BPM (every 0.5 s), decaying between strikes, each bar's first louder."""
    return (sum(0.1 * np.sin(2 * np.pi * f * t) for f in C_MAJOR) * np.exp(-6.0 * (t % 0.5))
            * (1.0 + (t % 2.0 < 0.5)))


@pytest.fixture
def stereo_seed(tmp_path):
    """8 s at 44.1 kHz; the left channel also has 15 kHz (beyond the model's rate), the right is softer."""
    t = np.arange(8 * RATE) / RATE
    left = beating_chord(t) + 0.05 * np.sin(2 * np.pi * 15000 * t)
    path = tmp_path / "seed.wav"
    sf.write(path, np.stack([left, 0.5 * beating_chord(t)], axis=1).astype(np.float32), RATE, subtype="FLOAT")
    return path


def continued(start_s, seconds):
    """What a continuation of the downmix might be: the chord going on, mono at the model's rate."""
    t = start_s + np.arange(int(seconds * MODEL_RATE)) / MODEL_RATE
    return (0.75 * beating_chord(t)).astype(np.float32)


def test_the_seed_keeps_its_rate_and_channels_and_the_continuation_follows_without_a_click(stereo_seed, tmp_path):
    seed = load_audio(stereo_seed, MODEL_RATE).samples[MODEL_RATE // 2:int(7.25 * MODEL_RATE)]
    continuation = continued(7.25, 2.0)  # between two strikes: the music itself has no step there
    cfg = FeatureConfig()
    analysis = analyse(seed, cfg)
    source = SeedSource(str(stereo_seed), 0.5, 7.25)
    settings = {"seconds": 2.0, "temperature": 0.5, "rng_seed": 7, "follow": 0.5}
    out, rate = write_with_seed(tmp_path / "out.wav", source, seed, continuation, MODEL_RATE, "float", analysis,
                                "Take 3", describe("Take 3", "models/piano.musicgen", settings, source))
    written, file_rate = sf.read(out, dtype="float32", always_2d=True)
    assert rate == file_rate == RATE and written.shape == (int(6.75 * RATE) + 2 * RATE, 2)

    # The seed part is the file's own samples, both channels, up to the cross-fade.
    original, _ = sf.read(stereo_seed, dtype="float32", always_2d=True)
    seam, fade = int(6.75 * RATE), int(SEAM_FADE_SECONDS * RATE)
    assert np.array_equal(written[:seam - fade], original[RATE // 2:int(7.25 * RATE) - fade])
    spectrum = np.abs(np.fft.rfft(written[:seam - fade, 0]))
    assert spectrum[int(15000 * (seam - fade) / RATE)] > 100 * np.median(spectrum)  # 15 kHz kept
    # The continuation at 44.1 kHz, the same in each channel.
    after = written[seam:]
    assert np.array_equal(after[:, 0], after[:, 1])
    expected = soxr.resample(continuation, MODEL_RATE, RATE)
    assert np.corrcoef(after[RATE // 10:, 0], expected[RATE // 10:len(after)])[0, 1] > 0.999
    # No click where they meet: no step bigger than the music's own steps around it.
    for channel in written.T:
        step = np.abs(np.diff(channel[seam - 3:seam + 3])).max()
        around = max(np.abs(np.diff(channel[seam - 2000:seam - 3])).max(),
                     np.abs(np.diff(channel[seam + 3:seam + 2000])).max())
        assert step <= 1.5 * around

    tags = acid(out)
    assert analysis.beat is not None and tags["bpm"] == pytest.approx(analysis.beat.quarter_bpm, rel=1e-6)
    assert 115 < tags["bpm"] < 125 and tags["meter"] == (analysis.beat.beats_per_bar or 4, 4)
    assert tags["beats"] == round(8.75 * tags["bpm"] / 60)
    assert tags["flags"] & 0x02 and tags["root"] == 60 + analysis.key.tonic  # C4 + the key's tonic
    found = chunks(out)
    assert found[b"INAM"] == b"Take 3"
    comment = found[b"ICMT"].decode()
    assert comment.startswith("musicgen-gui Take 3 · model piano · seconds 2.0, temperature 0.5, rng_seed 7")
    assert comment.endswith("seed seed.wav 0.50-7.25 s")


@pytest.mark.parametrize("bits", ["16", "24"])
def test_a_seed_file_that_is_gone_gives_the_model_rate_seed_and_says_so_in_the_file(tmp_path, bits):
    seed, continuation = continued(0.0, 1.0), continued(1.0, 1.0)
    out, rate = write_with_seed(tmp_path / "out.wav", SeedSource(str(tmp_path / "gone.wav"), 0.0, 1.0), seed,
                                continuation, MODEL_RATE, bits, None, "Take 1", "")
    written, file_rate = sf.read(out, dtype="float32")
    assert rate == file_rate == MODEL_RATE and written.shape == (2 * MODEL_RATE,)
    assert np.allclose(written, np.concatenate([seed, continuation]), atol=2.0 ** (1 - int(bits)))
    assert acid(out)["flags"] & 0x01 and acid(out)["bpm"] == 0.0  # no tempo: a one-shot, not a loop
