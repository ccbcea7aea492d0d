"""The musicgen command: outputs, exit codes and one-line errors."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from riff import chunks
from synth import SR, chord, rms_db

from musicgen_gui.cli import main


@pytest.fixture
def seed_wav(tmp_path):
    path = tmp_path / "seed.wav"
    sf.write(path, np.stack([chord(seconds=2.0, sr=44100)] * 2, axis=1), 44100)  # stereo, another rate
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(err, *fragments):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in lines[0]


def test_continue_writes_exactly_the_requested_length(capsys, seed_wav, tiny_bundle_path, tmp_path):
    out = tmp_path / "out.wav"
    code, _, err = run(capsys, "continue", seed_wav, "-o", out, "--model", tiny_bundle_path, "--seconds", 1.5,
                       "--rng-seed", 1)
    assert code == 0, err
    audio, rate = sf.read(out, dtype="float32")
    assert rate == SR and audio.ndim == 1
    assert len(audio) == round(1.5 * SR)
    assert np.isfinite(audio).all() and rms_db(audio) > -60
    assert sf.info(out).subtype == "PCM_16"


def test_float32_gives_the_same_length_and_another_rendering(capsys, seed_wav, tiny_bundle_path, tmp_path):
    outputs = {}
    for flags in ((), ("--float32",)):
        out = tmp_path / f"out{len(flags)}.wav"
        code, _, err = run(capsys, "continue", seed_wav, "-o", out, "--model", tiny_bundle_path, "--seconds", 1.0,
                           "--rng-seed", 1, *flags)
        assert code == 0, err
        outputs[flags] = sf.read(out, dtype="float32")[0]
    eight_bit, float32 = outputs.values()
    assert len(eight_bit) == len(float32) == SR
    assert not np.array_equal(eight_bit, float32)  # the flag reached the engine
    assert abs(rms_db(eight_bit) - rms_db(float32)) < 3


def test_with_seed_writes_the_seed_at_its_own_rate_and_channels_tagged_with_tempo_and_settings(
        capsys, seed_wav, tiny_bundle_path, tmp_path):
    out = tmp_path / "both.wav"
    code, _, err = run(capsys, "continue", seed_wav, "-o", out, "--model", tiny_bundle_path, "--seconds", 1,
                       "--with-seed", "--bits", "float", "--temperature", 0.3)
    assert code == 0, err
    audio, rate = sf.read(out, dtype="float32", always_2d=True)
    original, _ = sf.read(seed_wav, dtype="float32", always_2d=True)
    assert rate == 44100 and audio.shape[1] == 2  # as the seed was, not the model's 22.05 kHz mono
    seed_len = len(audio) - 44100
    # The seed from its file (less the few samples the session drops to align its frames), then 1 s.
    assert 2 * 44100 - 1024 < seed_len <= 2 * 44100
    assert np.array_equal(audio[:seed_len - 4410], original[-seed_len:-4410])
    assert np.array_equal(audio[seed_len:, 0], audio[seed_len:, 1]) and rms_db(audio[seed_len:, 0]) > -60
    tags = chunks(out)
    assert b"acid" in tags and b"temperature 0.3" in tags[b"ICMT"] and tags[b"INAM"] == b"both"


@pytest.mark.parametrize("case", ["missing", "garbage", "empty", "too_short", "folder"])
def test_bad_seeds_exit_2_with_one_error_line_and_no_output(capsys, tmp_path, tiny_bundle_path, case):
    seed = tmp_path / "seed.wav"
    if case == "garbage":
        seed.write_bytes(os.urandom(5000))
    elif case == "empty":
        seed.write_bytes(b"")
    elif case == "too_short":
        sf.write(seed, chord(seconds=0.1), SR)
    elif case == "folder":
        seed.mkdir()
    out = tmp_path / "out.wav"
    code, _, err = run(capsys, "continue", seed, "-o", out, "--model", tiny_bundle_path)
    assert code == 2
    assert_one_error_line(err)
    if case == "too_short":
        assert "at least 0.21 s" in err
    assert not out.exists()
    assert not list(tmp_path.glob("*.part"))


def test_bad_model_and_unwritable_output(capsys, seed_wav, tiny_bundle_path, tmp_path):
    code, _, err = run(capsys, "continue", seed_wav, "-o", tmp_path / "o.wav", "--model", tmp_path / "none.musicgen")
    assert code == 2
    assert_one_error_line(err, "does not exist")
    not_a_model = tmp_path / "fake.musicgen"
    not_a_model.write_text("hello")
    code, _, err = run(capsys, "continue", seed_wav, "-o", tmp_path / "o.wav", "--model", not_a_model)
    assert code == 2
    assert_one_error_line(err, "not a musicgen model")
    code, _, err = run(capsys, "continue", seed_wav, "-o", tmp_path / "nodir" / "o.wav", "--model", tiny_bundle_path)
    assert code == 2
    assert_one_error_line(err, "does not exist")


def test_outputs_that_would_lose_or_mislabel_data_are_refused(capsys, seed_wav, tiny_bundle_path, tmp_path):
    before = seed_wav.read_bytes()
    code, _, err = run(capsys, "continue", seed_wav, "-o", seed_wav, "--model", tiny_bundle_path)
    assert code == 2 and seed_wav.read_bytes() == before
    assert_one_error_line(err, "it is the seed file")
    code, _, err = run(capsys, "continue", seed_wav, "-o", tmp_path / "out.mp3", "--model", tiny_bundle_path)
    assert code == 2 and not (tmp_path / "out.mp3").exists()
    assert_one_error_line(err, "name it .wav")
    with pytest.raises(SystemExit) as exit_:
        main(["continue", str(seed_wav), "-o", str(tmp_path / "o.wav"), "--rng-seed", "-1"])
    assert exit_.value.code == 2 and "--rng-seed: -1: must be 0 or more" in capsys.readouterr().err
    assert not (tmp_path / "o.wav").exists()


@pytest.mark.slow
def test_train_then_continue_then_evaluate_through_the_console_script(pattern_folder, tmp_path):
    bin_dir = Path(sys.executable).parent
    model = tmp_path / "cli.musicgen"
    train = subprocess.run([bin_dir / "musicgen", "train", pattern_folder, "-o", model, "--epochs", "2",
                            "--batch-size", "8"], capture_output=True, text=True, timeout=600)
    assert train.returncode == 0, train.stderr
    assert "epoch 2/2" in train.stderr and "frames/s" in train.stderr
    assert " 0 frames/s" not in train.stderr
    out = tmp_path / "c.wav"
    cont = subprocess.run([bin_dir / "musicgen", "continue", pattern_folder / "take0.wav", "-o", out,
                           "--model", model, "--seconds", "3"], capture_output=True, text=True, timeout=600)
    assert cont.returncode == 0, cont.stderr
    audio, rate = sf.read(out, dtype="float32")
    assert len(audio) == 3 * rate and np.isfinite(audio).all() and rms_db(audio) > -50
    ev = subprocess.run([bin_dir / "musicgen", "evaluate", model, "--data", pattern_folder,
                         "--seed-seconds", "2", "--seconds", "3", "--seeds", "1"],
                        capture_output=True, text=True, timeout=600)
    assert ev.returncode == 0, ev.stderr
    assert "persistence" in ev.stdout and "ratio" in ev.stdout
    bad = subprocess.run([bin_dir / "musicgen", "continue", tmp_path / "nothing.wav", "-o", out, "--model", model],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr


def test_continue_reads_out_tempo_and_key_and_takes_follow(capsys, tmp_path, tiny_bundle_path):
    from synth import drum_loop

    seed = tmp_path / "groove.wav"
    sf.write(seed, drum_loop(6.0, bpm=120) + chord((220.0, 261.63, 329.63), seconds=6.0), SR)
    out = tmp_path / "out.wav"
    code, _, err = run(capsys, "continue", seed, "-o", out, "--model", tiny_bundle_path, "--seconds", 3,
                       "--follow", 0.9, "--rng-seed", 1)
    assert code == 0, err
    assert "seed: 120 BPM · A minor?; continuation: " in err  # a lone triad: "?"
    code, _, err = run(capsys, "continue", seed, "-o", out, "--model", tiny_bundle_path, "--follow", 2)
    assert code == 2
    assert_one_error_line(err, "between 0 (wander) and 1 (stay close)")


def test_a_silent_seed_is_refused_in_one_line(capsys, tmp_path, tiny_bundle_path):
    seed = tmp_path / "silence.wav"
    sf.write(seed, np.zeros(3 * SR, np.float32), SR)
    code, _, err = run(capsys, "continue", seed, "-o", tmp_path / "out.wav", "--model", tiny_bundle_path)
    assert code == 2
    assert_one_error_line(err, "silent")
    assert not (tmp_path / "out.wav").exists()
