"""Bad input through the window: the message is the CLI's, word for word, and the window stays
usable. Exports to a full disk or a read-only folder, and quitting mid-export or mid-training,
lose nothing."""

import os

import numpy as np
import pytest
import soundfile as sf
from gui_driver import load
from mounts import tmpfs
from synth import SR, chord

from musicgen_gui.cli import main
from musicgen_gui.core.bundle import load_bundle
from musicgen_gui.core.training import work_dir
from musicgen_gui.gui.mode import IDLE


def cli_error(capsys, tmp_path, seed, model):
    code = main(["continue", str(seed), "-o", str(tmp_path / "cli-out.wav"), "--model", str(model)])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0].removeprefix("error: ")


def make_seeds(folder):
    rng = np.random.default_rng(1)
    good = folder / "good.flac"
    sf.write(good, chord(seconds=2.0), SR)
    seeds = {"random bytes": ("noise.wav", rng.bytes(5000)), "empty": ("empty.flac", b""),
             "truncated": ("cut.flac", good.read_bytes()[:60]), "text": ("notes.mp3", b"just text\n" * 40),
             "png": ("picture.ogg", b"\x89PNG\r\n\x1a\n" + rng.bytes(2000))}
    paths = {}
    for case, (name, data) in seeds.items():
        paths[case] = folder / name
        paths[case].write_bytes(data)
    paths["folder"] = folder / "folder.wav"
    paths["folder"].mkdir()
    paths["dangling symlink"] = folder / "gone.wav"
    os.symlink(folder / "nowhere.wav", paths["dangling symlink"])
    paths["NaN"] = folder / "nan.wav"
    sf.write(paths["NaN"], np.full(SR, np.nan, np.float32), SR, subtype="FLOAT")
    return good, paths


def test_malformed_seeds_show_the_cli_message_and_the_window_stays_usable(qtbot, capsys, window, tmp_path,
                                                                          tiny_bundle_path):
    c = window.controller
    good, seeds = make_seeds(tmp_path)
    for case, path in seeds.items():
        expected = cli_error(capsys, tmp_path, path, tiny_bundle_path)
        assert not load(qtbot, window, path), case
        assert window.message_bar.text == expected, case
        assert c.seed.clip is None and c.mode == IDLE
    short = tmp_path / "short.wav"
    sf.write(short, chord(seconds=0.1), SR)
    expected = cli_error(capsys, tmp_path, short, tiny_bundle_path)
    assert load(qtbot, window, short)  # a short file loads; Continue is off, and says why before it is pressed
    assert not window.continue_action.isEnabled()
    assert window.stream_status.text() == f"Continue is off: {expected}"
    assert load(qtbot, window, good)  # and afterwards a valid seed works end to end
    assert window.message_bar.text == ""
    window.panel.seconds.setValue(1.0)
    window.continue_action.trigger()
    qtbot.waitUntil(lambda: c.mode == IDLE and not c.run.generation.running, timeout=20000)
    assert c.takes.current.n_samples == SR


@pytest.mark.parametrize("case", ["audio file", "empty zip", "text"])
def test_a_wrong_model_file_shows_the_cli_message_and_the_model_in_use_stays(qtbot, capsys, window, tmp_path,
                                                                            tiny_bundle_path, case):
    bad = tmp_path / "wrong.musicgen"
    if case == "audio file":
        sf.write(tmp_path / "x.wav", chord(seconds=1.0), SR)
        bad.write_bytes((tmp_path / "x.wav").read_bytes())
    elif case == "empty zip":
        bad.write_bytes(b"PK\x05\x06" + bytes(18))
    else:
        bad.write_text("{}")
    sf.write(tmp_path / "seed.wav", chord(seconds=1.0), SR)
    expected = cli_error(capsys, tmp_path, tmp_path / "seed.wav", bad)
    c = window.controller
    in_use = c.bundle
    window.models.load(str(bad))
    qtbot.waitUntil(lambda: window.message_bar.text != "")
    assert window.message_bar.text == expected
    assert c.bundle is in_use and window.panel.model.currentData() == str(tiny_bundle_path)
    assert load(qtbot, window, tmp_path / "seed.wav") and window.continue_action.isEnabled()


def generate(qtbot, window, seed_file, seconds):
    assert load(qtbot, window, seed_file)
    window.panel.seconds.setValue(seconds)
    window.continue_action.trigger()
    c = window.controller
    qtbot.waitUntil(lambda: c.mode == IDLE and not c.run.generation.running and not c.busy, timeout=60000)
    return c.takes.current


@pytest.mark.parametrize("disk", ["full", "read-only"])
def test_export_to_a_full_disk_or_a_read_only_folder_is_reported_and_leaves_nothing(qtbot, window, chord_file,
                                                                                     tmp_path, disk):
    take = generate(qtbot, window, chord_file, 2.0)
    with tmpfs(tmp_path / "disk", size="64k", read_only=disk == "read-only") as folder:
        out = folder / "take.wav"
        window.controller.takes.export(take, str(out), with_seed=True, bits="float")
        reason = "No space left on device" if disk == "full" else "Read-only file system"
        qtbot.waitUntil(lambda: window.message_bar.text == f"cannot write {out}: {reason}")
        qtbot.waitUntil(lambda: not window.controller.busy)
        assert list(folder.iterdir()) == []
    assert window.export_action.isEnabled()  # the take is still there to export elsewhere


@pytest.mark.slow
def test_quitting_during_an_export_finishes_the_file(qtbot, window, chord_file, tmp_path):
    take = generate(qtbot, window, chord_file, 30.0)
    out = tmp_path / "take.wav"
    window.controller.takes.export(take, str(out), with_seed=True, bits="24")
    window.close()
    assert sf.info(out).frames == 2 * (len(take.seed) + 30 * SR)  # at the seed file's 44.1 kHz
    assert [p.name for p in tmp_path.glob(".take.wav*")] == []


@pytest.mark.slow
def test_quitting_during_training_stops_it_with_a_checkpoint_to_resume_from(qtbot, window, tiny_preset,
                                                                            pattern_folder):
    window.open_training()
    dialog = window.training
    dialog.add_folder(str(pattern_folder))
    dialog.preset.setCurrentIndex(dialog.preset.findData("tiny"))
    dialog.name.setText("quit-while-training")
    dialog.epochs.setValue(1000)
    dialog.start(resume=False)
    qtbot.waitUntil(dialog.output.exists, timeout=120000)  # written after the first epoch
    window.close()  # no_dangling_threads fails the test if training still runs
    assert (work_dir(dialog.output) / "checkpoint.npz").is_file()
    assert load_bundle(dialog.output).provenance["epochs"] >= 1
    dialog.show()  # reopened, as a user would
    assert dialog.resume_button.isEnabled()
    dialog.close()
