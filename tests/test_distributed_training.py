"""Multi-worker training: two worker processes on 127.0.0.1 (tf.distribute.MultiWorkerMirroredStrategy).

One test runs the whole story, since each worker process starts TensorFlow (seconds):
both workers train, crash in the middle of epoch 2, resume from the chief's
checkpoint, and the result is compared with an uninterrupted single-process run
with the same global batch.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from distributed_worker import SETTINGS

from musicgen_gui.cli import main as cli_main
from musicgen_gui.core.bundle import load_bundle
from musicgen_gui.core.training import train, work_dir

WORKER = Path(__file__).parent / "distributed_worker.py"


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _run_workers(*args: str) -> list[tuple[int, list[dict], str]]:
    """Both workers with the given arguments: (exit code, progress reports, stderr) of each."""
    hosts = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes = []
    for index in range(2):
        config = {"cluster": {"worker": hosts}, "task": {"type": "worker", "index": index}}
        env = {**os.environ, "TF_CONFIG": json.dumps(config)}
        processes.append(subprocess.Popen([sys.executable, str(WORKER), *args], env=env, text=True,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    results = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=300)
            results.append((process.returncode, [json.loads(line) for line in out.splitlines()], err))
    finally:
        for process in processes:
            process.kill()
    return results


@pytest.mark.slow
def test_two_workers_share_batches_resume_from_the_chief_and_match_one_worker(pattern_folder, tmp_path):
    out = tmp_path / "d.musicgen"
    crashed = _run_workers(str(pattern_folder), str(out), "2", "--crash-at", "2", "5")
    for index, (code, reports, err) in enumerate(crashed):
        assert code == 3, err[-3000:]
        notes = [r["message"] for r in reports if r["stage"] == "note"]
        # Each worker takes half of every 8-window batch and reports each global step.
        assert f"worker {index} of 2{' (chief)' if index == 0 else ''}: 4 of each batch's 8 windows, " \
               "15 batches an epoch" in notes
        steps = [(r["epoch"], r["batch"]) for r in reports if r["stage"] == "training" and not r["message"]]
        assert steps[:15] == [(1, b) for b in range(1, 16)] and steps[-1] == (2, 5)
    with np.load(work_dir(out) / "checkpoint.npz") as ckpt:
        meta = json.loads(str(ckpt["meta"]))
    assert (meta["epoch"], meta["batch"]) == (1, 3)  # the chief's last checkpoint before the crash

    resumed = _run_workers(str(pattern_folder), str(out), "2", "--resume")
    for code, reports, err in resumed:
        assert code == 0, err[-3000:]
        steps = [(r["epoch"], r["batch"]) for r in reports if r["stage"] == "training"]
        assert steps[0] == (2, 4)  # the batch after the chief's checkpoint
    assert [r["message"] for r in resumed[0][1] if r["stage"] == "done"] == [f"wrote {out}"]
    assert [r["message"] for r in resumed[1][1] if r["stage"] == "done"] == ["done; worker 0 writes the model"]

    single = train([pattern_folder], tmp_path / "s.musicgen", epochs=2, **SETTINGS)
    two, one = load_bundle(out), load_bundle(single)
    assert two.provenance["epochs"] == one.provenance["epochs"] == 2
    for name, weight in one.weights.items():
        np.testing.assert_allclose(two.weights[name], weight, atol=1e-5, err_msg=name)
    # Validation drops the odd window out so both workers evaluate as many.
    assert two.provenance["final_val_loss"] == pytest.approx(one.provenance["final_val_loss"], rel=0.02)


def test_distributed_without_a_cluster_is_refused_clearly(pattern_folder, tmp_path, monkeypatch, capsys):
    args = ["train", str(pattern_folder), "-o", str(tmp_path / "m.musicgen"), "--distributed"]
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert cli_main(args) == 2
    assert "error: a distributed run needs TF_CONFIG on every worker" in capsys.readouterr().err

    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 2}}')
    assert cli_main(args) == 2
    assert "error: TF_CONFIG must look like" in capsys.readouterr().err

    three = {"cluster": {"worker": ["a:1", "b:2", "c:3"]}, "task": {"type": "worker", "index": 0}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(three))
    assert cli_main([*args, "--batch-size", "8"]) == 2
    assert "error: the batch size 8 does not split evenly over 3 workers" in capsys.readouterr().err
    assert not (tmp_path / "m.musicgen").exists()
