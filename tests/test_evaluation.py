"""Continuation metrics on known, synthesised signals, and ``musicgen evaluate`` end to end."""

import json

import numpy as np
import pytest
import soundfile as sf
from synth import SR, chord, piano_note

from musicgen_gui.cli import main
from musicgen_gui.core import evaluation as ev
from musicgen_gui.core.errors import MusicgenError
from musicgen_gui.core.features import FeatureConfig, align_to_frames

CFG = FeatureConfig()
FPS = CFG.frames_per_second
SCALE = (261.63, 293.66, 329.63, 392.0, 440.0)  # C major pentatonic
FAR_SCALE = tuple(f * 2 ** (6 / 12) for f in SCALE)  # a tritone up: no pitch in common


def tune(seconds, rng_seed, scale=SCALE, note_seconds=0.25):
    """Random notes of the scale, one after another (not aligned with the hop)."""
    rng = np.random.default_rng(rng_seed)
    n = int(note_seconds * SR)
    notes = rng.choice(scale, int(np.ceil(seconds / note_seconds)))
    return np.concatenate([piano_note(f, n) for f in notes])[:int(seconds * SR)]


def mel(x):
    return ev.mel_db(x, CFG)


@pytest.fixture(scope="module")
def seed():
    return tune(8.0, 1)


@pytest.fixture(scope="module")
def seed_db(seed):
    return mel(seed)


@pytest.fixture(scope="module")
def more_melody_db():
    return mel(tune(12.0, 2))


def test_change_ratio_low_for_a_drone_or_noise_and_near_one_for_more_melody(seed_db, more_melody_db):
    drone = mel(chord(seconds=12.0))
    noise = mel(np.random.default_rng(0).standard_normal(12 * SR).astype(np.float32) * 0.05)
    assert ev.change_ratio(drone, seed_db, FPS) <= 0.25
    assert ev.change_ratio(noise, seed_db, FPS) <= 0.25
    assert 0.7 <= ev.change_ratio(more_melody_db, seed_db, FPS) <= 1.4


def test_silence_is_silent_and_far_below_the_seed_while_more_melody_keeps_the_level(seed_db, more_melody_db):
    silence = mel(np.zeros(5 * SR, np.float32))
    assert ev.silent_fraction(silence, seed_db, FPS) == 1.0
    assert ev.level_difference_db(silence, seed_db, FPS) < -40
    assert ev.silent_fraction(more_melody_db, seed_db, FPS) == 0.0
    assert abs(ev.level_difference_db(more_melody_db, seed_db, FPS)) < 2
    # A window half as loud (-6 dB) is not silent yet.
    assert ev.level_difference_db(mel(0.5 * tune(12.0, 2)), seed_db, FPS) == pytest.approx(-6.0, abs=2)


def test_a_loop_of_the_seed_is_a_copy_and_other_music_is_not(seed, seed_db):
    loop = mel(np.tile(seed, 2))  # 8 s is not a whole number of hops: the frames do not line up
    other = mel(tune(12.0, 3, FAR_SCALE))
    assert ev.copy_fraction(loop, seed_db) > 0.85
    assert ev.copy_fraction(other, seed_db) < 0.2
    assert ev.copy_fraction(seed_db, seed_db) == 1.0


def test_a_phrase_repeating_every_two_seconds_repeats_itself_and_a_new_melody_does_not():
    # A whole number of hops, as a loop of the model's own frames is.
    phrase = tune(2.0, 6)[:86 * CFG.hop]
    cycle = mel(np.tile(phrase, 6))
    assert ev.self_repetition(cycle, FPS) > 0.75  # the first period has nothing to repeat
    # The same five notes in a new order: its notes recur, its phrases do not.
    assert ev.self_repetition(mel(tune(12.0, 2)), FPS) < 0.2
    # Only earlier, non-overlapping segments count: one phrase has no copy of itself.
    assert ev.self_repetition(mel(np.tile(phrase, 2)[:int(2.5 * SR)]), FPS) < 0.2


def test_frechet_distance_is_zero_for_the_same_frames_and_grows_for_other_music(seed_db, more_melody_db):
    truth = more_melody_db
    same = ev.frechet_distance(truth, truth)
    like = ev.frechet_distance(mel(tune(12.0, 4)), truth)
    other = ev.frechet_distance(mel(tune(12.0, 3, FAR_SCALE)), truth)
    drone = ev.frechet_distance(mel(chord(seconds=12.0)), truth)
    assert same < 1e-6 * np.trace(np.cov(truth, rowvar=False))
    assert like < other and like < drone
    # A single repeated frame (zero covariance) needs no regularising: the exact
    # distance of a point to a Gaussian is |mean difference|^2 + trace(covariance).
    frozen = np.repeat(seed_db[-1:], 200, axis=0)
    exact = np.sum((seed_db[-1] - truth.mean(axis=0)) ** 2) + np.trace(np.cov(truth, rowvar=False))
    assert ev.frechet_distance(frozen, truth) == pytest.approx(exact, rel=1e-6)


def test_the_frozen_baseline_holds_the_seeds_last_frame(seed, seed_db):
    aligned = align_to_frames(seed, CFG)
    frozen = ev.frozen_continuation(CFG, aligned, 3 * SR)
    assert len(frozen) == 3 * SR and np.isfinite(frozen).all()
    frozen_db = mel(frozen)
    assert ev.change_ratio(frozen_db, seed_db, FPS) <= 0.25
    assert ev.silent_fraction(frozen_db, seed_db, FPS) == 0.0


def test_targets_name_what_fails():
    good = ev.ContinuationScores(level_db=-2.0, silent_fraction=0.0, change_ratio=0.9, copy_fraction=0.05,
                                 frechet=100.0, frechet_frozen=300.0, self_repetition=0.9, self_repetition_truth=0.1)
    assert good.passed and good.failures() == []
    bad = ev.ContinuationScores(level_db=-7.0, silent_fraction=0.1, change_ratio=0.3, copy_fraction=0.5,
                                frechet=300.0, frechet_frozen=300.0, self_repetition=0.0, self_repetition_truth=0.0)
    assert bad.failures() == ["silent", "level", "change", "copy", "frechet"]


@pytest.fixture(scope="module")
def held_out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("held-out")
    sf.write(folder / "a.wav", tune(11.0, 5), SR)  # room for two clips of 2 + 3 s
    sf.write(folder / "b.flac", tune(6.0, 6), SR)  # one
    sf.write(folder / "c.wav", tune(4.0, 7), SR)  # one with 2 s of truth (at least half of 3 s)
    sf.write(folder / "d.wav", tune(3.0, 8), SR)  # none: 1 s of truth
    return folder


def test_clips_spread_over_files_and_the_truth_follows_the_seed(held_out):
    a = sf.read(held_out / "a.wav", dtype="float32")[0]
    one = ev.pick_clips([held_out], CFG, 1, 2.0, 3.0)
    assert [c.path.name for c in one] == ["b.flac"]  # the middle of the files that fit
    two = ev.pick_clips([held_out], CFG, 2, 2.0, 3.0)
    assert [c.path.name for c in two] == ["a.wav", "c.wav"]
    every = ev.pick_clips([held_out], CFG, 10, 2.0, 3.0)
    assert [c.path.name for c in every] == ["a.wav", "a.wav", "b.flac", "c.wav"]
    for clip in every[:2]:
        start = int(round(clip.offset_seconds * SR))
        assert len(clip.seed) == 2 * SR and clip.truth_seconds == 3.0
        assert np.array_equal(np.concatenate([clip.seed, clip.truth]), a[start:start + 5 * SR])
    assert every[0].offset_seconds + 5 <= every[1].offset_seconds  # no overlap
    assert every[3].offset_seconds == 0 and every[3].truth_seconds == pytest.approx(2.0, abs=0.01)
    with pytest.raises(MusicgenError, match="no audio file holds"):
        ev.pick_clips([held_out], CFG, 1, 8.0, 60.0)


def test_musicgen_evaluate_writes_a_table_json_and_plots(capsys, tiny_bundle_path, held_out, tmp_path):
    plots, report = tmp_path / "plots", tmp_path / "report.json"
    code = main(["evaluate", str(tiny_bundle_path), "--data", str(held_out), "--seeds", "2",
                 "--seed-seconds", "2", "--seconds", "3", "--plots", str(plots), "--json", str(report)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "persistence" in out and "summary: " in out and "a.wav" in out and "c.wav" in out

    data = json.loads(report.read_text())
    assert data["settings"]["n_mels"] == ev.N_MELS and data["teacher_forced"]["windows"] > 0
    assert [s["file"].rsplit("/", 1)[-1] for s in data["seeds"]] == ["a.wav", "c.wav"]
    assert [s["truth_seconds"] for s in data["seeds"]] == pytest.approx([3.0, 2.0], abs=0.01)
    for s in data["seeds"]:
        assert 0 <= s["silent_fraction"] <= 1 and 0 <= s["copy_fraction"] <= 1
        assert np.isfinite(s["level_db"]) and s["change_ratio"] >= 0
        assert 0 < s["frechet"] < 1e7 and 0 < s["frechet_frozen"] < 1e7
        assert s["passed"] == (s["failed"] == [])
    assert data["summary"]["seeds"] == 2 and data["summary"]["passed"] == sum(s["passed"] for s in data["seeds"])

    pngs = sorted(plots.glob("*.png"))
    assert [p.name for p in pngs] == ["seed01.png", "seed02.png"]
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_musicgen_evaluate_without_enough_audio_is_one_error_line(capsys, tiny_bundle_path, held_out):
    code = main(["evaluate", str(tiny_bundle_path), "--data", str(held_out)])  # 8 + 60 s by default
    _, err = capsys.readouterr()
    assert code == 2
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and "no audio file holds" in err
