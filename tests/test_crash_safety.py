"""Nothing is lost: exports to a full disk or a read-only folder fail cleanly, and training killed
with SIGKILL in the middle of an epoch goes on from its last checkpoint."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from mounts import tmpfs
from synth import SR, chord

from musicgen_gui.cli import main
from musicgen_gui.core.bundle import load_bundle
from musicgen_gui.core.training import train, work_dir


def continue_into(capsys, tmp_path, model, out, *extra):
    seed = tmp_path / "seed.wav"
    sf.write(seed, chord(seconds=2.0), SR)
    code = main(["continue", str(seed), "-o", str(out), "--model", str(model), *map(str, extra)])
    return code, capsys.readouterr().err


def test_export_to_a_full_disk_exits_2_keeps_the_old_file_and_leaves_no_partial(capsys, tmp_path, tiny_bundle_path):
    with tmpfs(tmp_path / "tiny", size="64k") as disk:
        out = disk / "out.wav"
        sf.write(out, np.zeros(5000, np.float32), SR)  # an older take, 10 kB
        before = out.read_bytes()
        code, err = continue_into(capsys, tmp_path, tiny_bundle_path, out, "--seconds", 2, "--bits", "float")
        assert code == 2
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0] == f"error: cannot write {out}: No space left on device", err
        assert out.read_bytes() == before
        assert [p.name for p in disk.iterdir()] == ["out.wav"]


def test_export_to_a_read_only_folder_exits_2_with_one_error_line(capsys, tmp_path, tiny_bundle_path):
    with tmpfs(tmp_path / "ro", read_only=True) as folder:
        code, err = continue_into(capsys, tmp_path, tiny_bundle_path, folder / "out.wav", "--seconds", 1)
        assert code == 2
        assert err.strip() == f"error: cannot write {folder / 'out.wav'}: folder {folder} is not writable"
        assert list(folder.iterdir()) == []


_TRAIN = """
import sys
from musicgen_gui.core.training import train

def show(p):
    if p.stage == "training":
        print(p.epoch, p.batch, flush=True)

train([sys.argv[1]], sys.argv[2], preset="default", units=[16], batch_size=2, sequence_length=10, seed=2,
      checkpoint_every=3, epochs=4, progress=show)
"""


def _checkpoint_position(out):
    with np.load(work_dir(out) / "checkpoint.npz") as ckpt:
        meta = json.loads(str(ckpt["meta"]))
    return meta["epoch"], meta["batch"]


@pytest.mark.slow
def test_training_killed_with_sigkill_mid_epoch_resumes_from_its_last_checkpoint(pattern_folder, tmp_path):
    out = tmp_path / "m.musicgen"
    child = subprocess.Popen([sys.executable, "-c", _TRAIN, str(pattern_folder), str(out)], stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    seen = (0, 0)
    for line in child.stdout:
        seen = tuple(map(int, line.split()))
        if seen >= (2, 17):  # the second epoch (1-based), well inside it
            child.send_signal(signal.SIGKILL)
            break
    child.wait(timeout=60)
    seen = max([seen] + [tuple(map(int, line.split())) for line in child.stdout])  # printed before it died
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    epoch, batch = _checkpoint_position(out)  # epoch 0-based: epochs finished
    assert (epoch + 1, 0) < seen
    lost = seen[1] - batch if epoch + 1 == seen[0] else None
    print(f"\nkilled at epoch {seen[0]} batch {seen[1]}; checkpoint at epoch {epoch + 1} batch {batch}; "
          f"{lost} batches to redo")
    assert lost is not None and 0 <= lost <= 3  # at most one checkpoint interval
    assert load_bundle(out).provenance["epochs"] == 1  # the model file of the finished epoch is intact

    resumed = []
    train([pattern_folder], out, preset="default", units=[16], batch_size=2, sequence_length=10, seed=2,
          checkpoint_every=3, epochs=4, resume=True,
          progress=lambda p: resumed.append((p.stage, p.epoch, p.batch)))
    training = [r[1:] for r in resumed if r[0] == "training"]
    assert training[0] == (epoch + 1, batch + 1)
    assert resumed[-1][0] == "done"
    assert load_bundle(out).provenance["epochs"] == 4
