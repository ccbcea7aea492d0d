"""The seed-conditioned model: its memory search, its numpy step against Keras, and its training."""

import keras
import numpy as np
import pytest
import soundfile as sf
from synth import SR, melody

from musicgen_gui.core.analysis import Beat
from musicgen_gui.core.bundle import ModelBundle, load_bundle, random_bundle, save_bundle
from musicgen_gui.core.conditioning import CONTEXT_FRAMES, CandidateSearch, gate_pooling, seed_summary
from musicgen_gui.core.errors import MusicgenError
from musicgen_gui.core.evaluation import teacher_forced_error
from musicgen_gui.core.features import FeatureConfig, Normaliser, log_power
from musicgen_gui.core.gated import FOLLOW_OFFSET, PHASE_FRAMES, GatedGenerator, follow_bias
from musicgen_gui.core.model import Architecture, build_conditioned_keras_model, keras_weights_to_arrays
from musicgen_gui.core.params import ContinuationParams
from musicgen_gui.core.predictor import ConditionedPredictor
from musicgen_gui.core.session import ContinuationSession
from musicgen_gui.core.training import train, work_dir

CFG = FeatureConfig(n_fft=128, hop=64, n_bins=48)
BINS = CFG.n_bins
CFG_APP = FeatureConfig()


def test_the_search_finds_where_a_context_came_before_and_how_far_the_others_are():
    rng = np.random.default_rng(0)
    bands = rng.standard_normal((200, 8)).astype(np.float32)
    search = CandidateSearch(bands, k=3)
    context = bands[120 - CONTEXT_FRAMES:120]
    places, distance = search.nearest(context[None])
    assert places[0, 0] == 120  # the frame that followed this very context
    assert distance[0, 0] == pytest.approx(0.0, abs=1e-3)
    assert (np.diff(distance[0]) >= 0).all() and distance[0, 1] > 1.0  # random contexts are far
    shifted = context + 0.5  # half a neper louder everywhere: RMS distance 0.5
    assert search.nearest(shifted[None])[1][0, 0] == pytest.approx(0.5, abs=1e-3)


def test_the_search_offers_only_allowed_places_and_as_many_as_asked():
    rng = np.random.default_rng(0)
    bands = rng.standard_normal((200, 8)).astype(np.float32)
    search = CandidateSearch(bands, k=3)
    context = bands[120 - CONTEXT_FRAMES:120][None]
    on_beat = np.zeros(200, bool)
    on_beat[::10] = True  # every tenth place: 120 is one of them
    places, _ = search.nearest(context, on_beat, k=6)
    assert places.shape == (1, 6) and places[0, 0] == 120 and (places % 10 == 0).all()
    on_beat[120] = False
    assert 120 not in search.nearest(context, on_beat)[0]


def test_a_memory_shorter_than_one_context_is_refused():
    with pytest.raises(ValueError):
        CandidateSearch(np.zeros((CONTEXT_FRAMES, 8), np.float32), k=2)


def _bundle(model, arch):
    return ModelBundle(
        name="c", features=CFG, architecture=arch,
        normaliser=Normaliser(np.zeros(BINS, np.float32), np.ones(BINS, np.float32)),
        residual_std=np.ones(BINS, np.float32), frame_min=-np.ones(BINS, np.float32),
        frame_max=np.ones(BINS, np.float32), weights=keras_weights_to_arrays(model, arch), preset="seed-conditioned")


@pytest.mark.slow
@pytest.mark.parametrize("offered", [1.0, 0.0])
def test_the_step_engine_matches_keras(offered, tmp_path):
    keras.utils.set_random_seed(0)
    arch = Architecture(cell="lstm", units=(24,), residual=True, input_noise=0.3, candidates=3, gate_bands=6,
                        summary_units=5)
    model = build_conditioned_keras_model(arch, *gate_pooling(CFG, arch.gate_bands))
    model.set_weights([w * 2.0 for w in model.get_weights()])
    rng = np.random.default_rng(1)
    steps = 40
    frames = rng.standard_normal((1, steps, BINS)).astype(np.float32)
    candidates = rng.standard_normal((1, steps, 3, BINS)).astype(np.float32) * offered
    distances = rng.random((1, steps, 3)).astype(np.float32) * offered
    summary = seed_summary(rng.standard_normal((100, BINS)))[None]
    mixed, own = model([frames, candidates, distances, np.full((1, steps, 1), offered, np.float32), summary],
                       training=False)
    # Saved and loaded: the file holds what the engine needs.
    bundle = load_bundle(save_bundle(_bundle(model, arch), tmp_path / "c.musicgen"))
    predictor = ConditionedPredictor(bundle, summary[0])
    for t in range(steps):
        got_mixed, got_own, weights = predictor.step(frames[0, t], candidates[0, t] if offered else None,
                                                     distances[0, t] if offered else None)
        assert np.abs(got_own - np.asarray(own)[0, t]).max() < 1e-4
        assert np.abs(got_mixed - np.asarray(mixed)[0, t]).max() < 1e-4
        assert weights.shape == (4, 6) and np.allclose(weights.sum(axis=0), 1.0)
    if not offered:
        assert np.allclose(mixed, own)  # no candidates: the net's own frame


def test_follow_bias_moves_the_gate_towards_the_candidates():
    keras.utils.set_random_seed(2)
    arch = Architecture(cell="lstm", units=(16,), residual=True, input_noise=0.0, candidates=2, gate_bands=4,
                        summary_units=3)
    bundle = _bundle(build_conditioned_keras_model(arch, *gate_pooling(CFG, 4)), arch)
    rng = np.random.default_rng(0)
    frame, candidates = rng.standard_normal(BINS), rng.standard_normal((2, BINS))
    shares = []
    for bias in (-3.0, 0.0, 3.0):
        predictor = ConditionedPredictor(bundle, np.zeros(2 * BINS, np.float32))
        shares.append(predictor.step(frame, candidates, np.ones(2), bias)[2][1:].sum(axis=0).mean())
    assert shares[0] < 0.2 < shares[1] < shares[2] and shares[2] > 0.8
    # The slider: no candidates at 0, then a bias that only grows, the chosen one at the middle.
    biases = [follow_bias(f) for f in (0.1, 0.25, 0.5, 0.75, 1.0)]
    assert follow_bias(0.0) is None and biases == sorted(biases) and follow_bias(0.5) == FOLLOW_OFFSET


def _tunes(folder, count, seconds, rng):
    """Files of a 16-note tune repeated, a different random tune in each: the net cannot learn
    the tunes, but a seed's memory holds the one it is in."""
    folder.mkdir()
    note = 8 * CFG_APP.hop
    for i in range(count):
        freqs = 220.0 * 2 ** (rng.integers(0, 24, size=16) / 12)
        repeats = int(np.ceil(seconds * SR / (16 * note)))
        sf.write(folder / f"tune{i}.wav", melody(freqs, note, repeats)[:int(seconds * SR)], SR)
    return folder


@pytest.fixture(scope="module")
def tune_model(tmp_path_factory):
    """A small seed-conditioned model really trained (about a minute) on repeated tunes."""
    root = tmp_path_factory.mktemp("tunes")
    rng = np.random.default_rng(5)
    train_dir, val_dir = _tunes(root / "train", 6, 30.0, rng), _tunes(root / "val", 1, 30.0, rng)
    out = root / "tunes.musicgen"
    train([train_dir], out, preset="seed-conditioned", epochs=6, units=[48], batch_size=8, sequence_length=20,
          validation=[val_dir], checkpoint_every=5, seed=3)
    return out, val_dir


@pytest.mark.slow
def test_the_trained_gate_takes_the_next_note_from_the_seed(tune_model):
    path, val_dir = tune_model
    bundle = load_bundle(path)
    audio, _ = sf.read(val_dir / "tune0.wav", dtype="float32")
    seed, truth = audio[:12 * SR], audio[12 * SR:18 * SR]
    truth_frames = log_power(truth, CFG_APP)

    def error(follow):
        out = ContinuationSession(bundle, seed, ContinuationParams(seconds=6.0, temperature=0.0, rng_seed=0,
                                                                   follow=follow)).render()
        frames = log_power(out, CFG_APP)[:len(truth_frames)]
        return float(np.mean((frames - truth_frames[:len(frames)]) ** 2))

    # With its memory the continuation goes on with the tune; from the summary alone it cannot.
    assert error(0.5) < 0.5 * error(0.0)
    # Teacher-forced, each window with its track's earlier seconds as its memory: far under persistence.
    assert teacher_forced_error(bundle, [val_dir]).ratio < 0.5
    provenance = bundle.provenance
    assert bundle.architecture.conditioned and provenance["epochs"] == 6 and provenance["val_files"] == ["tune0.wav"]


@pytest.mark.slow
def test_a_conditioned_run_resumes_from_its_checkpoint(tune_model, tmp_path):
    path, val_dir = tune_model
    out = tmp_path / "again.musicgen"
    stops = iter(range(1000))
    train([path.parent / "train"], out, preset="seed-conditioned", epochs=1, units=[16], batch_size=8,
          sequence_length=20, validation=[val_dir], seed=3, should_stop=lambda: next(stops) == 3)
    assert not out.exists() and (work_dir(out) / "checkpoint.npz").is_file()
    seen = []
    train([], out, epochs=1, resume=True, progress=seen.append)
    assert load_bundle(out).provenance["epochs"] == 1
    assert [p.batch for p in seen if p.stage == "training"][0] == 5  # went on after the 4 batches done


def test_a_seed_too_short_for_the_memory_goes_on_from_its_summary_and_says_so():
    arch = Architecture(cell="lstm", units=(16,), residual=True, input_noise=0.3, candidates=4)
    bundle = random_bundle(arch)
    seed = melody((262.0, 330.0), 4 * CFG_APP.hop, 5)[:SR]
    session = ContinuationSession(bundle, seed, ContinuationParams(seconds=2.0, rng_seed=0))
    out = session.render()
    assert len(out) == 2 * SR and np.isfinite(out).all() and np.abs(out).max() > 1e-3
    assert any("too short for its memory" in note for note in session.notes)
    longer = ContinuationSession(bundle, np.tile(seed, 3), ContinuationParams(seconds=1.0, rng_seed=0))
    assert not longer.notes


def test_adapting_a_conditioned_model_is_refused_with_a_clear_message():
    bundle = random_bundle(Architecture(units=(16,), candidates=2))
    with pytest.raises(MusicgenError, match="reads its seed itself"):
        ContinuationSession(bundle, np.zeros(SR, np.float32) + 0.1, ContinuationParams(adapt_seconds=5.0))


def test_with_a_beat_and_variation_the_memory_offers_places_on_the_next_frame_s_beat_phase():
    bundle = random_bundle(Architecture(units=(16,), candidates=2))
    rng = np.random.default_rng(1)
    seed = (rng.standard_normal((400, CFG_APP.n_bins)) - 10.0).astype(np.float32)
    beat = Beat(period_frames=20.0, first_frame=3.0, strength=0.9, frames_per_second=CFG_APP.frames_per_second)
    generator = GatedGenerator(bundle, seed, beat=beat, rng=np.random.default_rng(0))
    offered = []
    step = generator.predictor.step
    generator.predictor.step = lambda frame, c, d, bias=0.0: (offered.append(c), step(frame, c, d, bias))[1]
    x = generator.warm(0.5)
    offered.clear()
    for _ in range(40):
        x = generator.step(x, generator.bands[-CONTEXT_FRAMES:], 0.5)
    chosen = set()
    for t, candidates in enumerate(offered):
        phase = (len(seed) + 1 + t - beat.first_frame) % beat.period_frames
        for frame in candidates:
            place = int(np.flatnonzero((generator.frames == frame).all(axis=1))[0])
            gap = abs((place - beat.first_frame) % beat.period_frames - phase)
            assert min(gap, beat.period_frames - gap) <= PHASE_FRAMES
            chosen.add(place)
    assert len(chosen) > 2 * len(offered[0])  # drawn, not always the same nearest places
