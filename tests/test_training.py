"""Training for real on a periodic melody (seconds), resume, and what the model learned."""

import json

import numpy as np
import pytest
from testmodels import PATTERN_FREQS, PATTERN_NOTE_SAMPLES
from synth import SR, melody

from musicgen_gui.core.bundle import load_bundle
from musicgen_gui.core.errors import MusicgenError
from musicgen_gui.core.evaluation import teacher_forced_error
from musicgen_gui.core.features import log_power
from musicgen_gui.core.predictor import FramePredictor
from musicgen_gui.core.training import train, work_dir


@pytest.mark.slow
def test_trained_model_beats_persistence_teacher_forced(trained_model, pattern_folder):
    result = teacher_forced_error(load_bundle(trained_model), [pattern_folder])
    assert result.files == 3
    assert result.ratio < 0.5, result


@pytest.mark.slow
def test_trained_model_continues_the_pattern_better_than_a_frozen_frame(trained_model):
    bundle = load_bundle(trained_model)
    cfg, norm = bundle.features, bundle.normaliser
    period = len(PATTERN_FREQS) * PATTERN_NOTE_SAMPLES // cfg.hop  # 44 frames
    frames = norm.normalise(log_power(melody(PATTERN_FREQS, PATTERN_NOTE_SAMPLES, repeats=6), cfg))
    seed, truth = frames[: 3 * period], frames[3 * period: 5 * period]
    predictor = FramePredictor(bundle)
    x = predictor.run_sequence(seed[None])[:, -1]
    generated = []
    for _ in range(len(truth)):
        generated.append(x[0])
        x = np.clip(predictor.step(x), bundle.frame_min, bundle.frame_max)
    model_err = np.mean((np.array(generated) - truth) ** 2)
    frozen_err = np.mean((seed[-1] - truth) ** 2)
    assert model_err < 0.6 * frozen_err, (model_err, frozen_err)


@pytest.mark.slow
def test_bundle_records_provenance_and_split(trained_model):
    bundle = load_bundle(trained_model)
    p = bundle.provenance
    assert p["epochs"] == 25
    assert len(p["train_files"]) == 2 and len(p["val_files"]) == 1
    assert set(p["train_files"]).isdisjoint(p["val_files"])
    assert p["final_val_loss"] is not None
    assert (work_dir(trained_model) / "logs").is_dir()  # TensorBoard events
    assert (bundle.residual_std > 0).all()


def _train_small(folder, out, **kw):
    # 10-frame windows: 15 batches an epoch, enough to crash in the middle of one.
    return train([folder], out, preset="default", units=[16], batch_size=8, sequence_length=10, seed=2,
                 checkpoint_every=3, **kw)


@pytest.mark.slow
def test_resume_after_a_crash_goes_on_from_the_last_checkpoint(pattern_folder, tmp_path):
    out = tmp_path / "m.musicgen"

    def crash_at_batch_5(p):
        if p.stage == "training" and p.epoch == 2 and p.batch == 5:
            raise RuntimeError("simulated crash")

    with pytest.raises(RuntimeError):
        _train_small(pattern_folder, out, epochs=3, progress=crash_at_batch_5)
    with np.load(work_dir(out) / "checkpoint.npz") as ckpt:
        meta = json.loads(str(ckpt["meta"]))
    assert (meta["epoch"], meta["batch"]) == (1, 3)  # the interval before the crash

    resumed = []
    _train_small(pattern_folder, out, epochs=3, resume=True, progress=lambda p: resumed.append((p.stage, p.epoch, p.batch)))
    training = [r for r in resumed if r[0] == "training"]
    assert training[0][1:] == (2, 4)  # the batch after the checkpoint, not the epoch's start
    assert resumed[-1][0] == "done"
    assert load_bundle(out).provenance["epochs"] == 3


@pytest.mark.slow
def test_stop_request_saves_and_resume_finishes(pattern_folder, tmp_path):
    out = tmp_path / "s.musicgen"
    calls = {"n": 0}

    def stop_after_two():
        calls["n"] += 1
        return calls["n"] >= 2

    states = []
    _train_small(pattern_folder, out, epochs=2, should_stop=stop_after_two, progress=lambda p: states.append(p.stage))
    assert states[-1] == "stopped"
    _train_small(pattern_folder, out, epochs=2, resume=True)
    assert load_bundle(out).provenance["epochs"] == 2


@pytest.mark.slow
def test_unusable_files_are_skipped_and_reported(pattern_folder, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name in ("take0.wav", "take1.wav"):
        (folder / name).write_bytes((pattern_folder / name).read_bytes())
    (folder / "broken.flac").write_bytes(b"fLaC" + bytes(100))
    notes = []
    train([folder], tmp_path / "m.musicgen", units=[8], batch_size=8, sequence_length=10, epochs=1,
          progress=lambda p: notes.append(p.message) if p.stage == "note" else None)
    assert notes == ["skipped 1 unusable files: broken.flac: not a readable audio file (unknown format, or damaged)"]
    provenance = load_bundle(tmp_path / "m.musicgen").provenance
    assert sorted(provenance["train_files"] + provenance["val_files"]) == ["take0.wav", "take1.wav"]


def test_resume_without_a_run_and_folders_without_audio(tmp_path):
    with pytest.raises(MusicgenError, match="nothing to resume"):
        train([tmp_path], tmp_path / "x.musicgen", resume=True)
    (tmp_path / "notes.txt").write_text("no audio here")
    with pytest.raises(MusicgenError, match="no audio files"):
        train([tmp_path], tmp_path / "x.musicgen")


@pytest.mark.slow
def test_explicit_validation_tracks_are_held_out(pattern_folder, tmp_path):
    out = tmp_path / "v.musicgen"
    held_out = pattern_folder / "take2.wav"
    train([pattern_folder / "take0.wav", pattern_folder / "take1.wav"], out, units=[8], batch_size=8,
          sequence_length=10, epochs=1, validation=[held_out], data_note="synthesised test melody, CC0")
    provenance = load_bundle(out).provenance
    assert provenance["data"] == "synthesised test melody, CC0"
    assert provenance["val_files"] == ["take2.wav"]
    assert provenance["train_files"] == ["take0.wav", "take1.wav"]


@pytest.mark.slow
def test_gru_cell_trains_and_generates(pattern_folder, tmp_path):
    from musicgen_gui.core.session import ContinuationParams, ContinuationSession

    out = train([pattern_folder], tmp_path / "g.musicgen", cell="gru", units=[16], batch_size=8,
                sequence_length=10, epochs=1)
    bundle = load_bundle(out)
    assert bundle.architecture.cell == "gru"
    seed = melody(PATTERN_FREQS, PATTERN_NOTE_SAMPLES, repeats=1)
    audio = ContinuationSession(bundle, seed, ContinuationParams(1.0, 0.5, 0)).render()
    assert len(audio) == SR and np.isfinite(audio).all()
