"""``musicgen bench --quick``: every section runs and the JSON is sane. No timing assertions."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from synth import SR, drum_loop, melody

from musicgen_gui.bench import QUICK, SECTIONS


def numbers(value, path=""):
    """Every number in the report, with where it is."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from numbers(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from numbers(item, f"{path}[{i}]")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield path, value


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    music = tmp_path_factory.mktemp("music")
    for i, freqs in enumerate([(220.0, 277.18, 329.63), (196.0, 246.94, 293.66), (261.63, 329.63, 392.0)]):
        x = np.tile(melody(freqs, SR // 4, repeats=1), 27)[:20 * SR] + drum_loop(20.0, seed=i)
        sf.write(music / f"piece{i}.wav", x, SR)
    out = music / "bench.json"
    result = subprocess.run([sys.executable, "-m", "musicgen_gui.cli", "bench", "--quick", "--json", str(out),
                             "--audio", str(music)], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "targets" in result.stdout
    return json.loads(out.read_text())


def test_every_section_is_there(report):
    for section in SECTIONS:
        if section != "naive":  # its figures sit in generation's vs_naive and its own section
            assert section in report, section
    assert report["plan"]["quick"] is True
    assert report["machine"]["cpus"] >= 1 and report["machine"]["cpu_model"]
    assert len(report["load_average_start"]) == len(report["load_average_end"]) == 3
    assert set(report["generation"]) == set(report["naive"]) == set(report["latency"]) == {"seed-2017", "default"}
    assert set(report["training"]) == {"seed-2017", "default"}
    assert set(report["scaling"]["continuation_seconds"]) == {str(s) for s in QUICK.lengths}
    assert set(report["scaling"]["seed_seconds"]) == {str(s) for s in QUICK.seed_lengths}
    assert "3 files from" in report["audio"]


def test_every_number_is_finite_and_not_negative(report):
    found = list(numbers(report))
    assert len(found) > 60
    for path, value in found:
        assert math.isfinite(value) and value >= 0, (path, value)


def test_measurements_are_positive_and_the_app_never_loads_tensorflow(report):
    for name, g in report["generation"].items():
        assert g["frames_per_second"] > 0 and g["float32_frames_per_second"] > 0
        assert report["latency"][name]["first_block_ms"] > 0 and report["latency"][name]["int8_setup_ms"] > 0
    for preset, t in report["training"].items():
        assert t["frames_per_second"] > 0 and t["raw_fit_frames_per_second"] > 0 and t["batches_timed"] >= 1
    startup = report["startup"]
    assert startup["gui_window_shown_s"] > 0 and startup["core_import_s"] > 0
    # Measured in fresh processes that really started the window with the seed loaded, and the core.
    assert not startup["gui_imported_tensorflow"] and not startup["core_imported_tensorflow"]
    memory = report["memory"]
    assert all(rss > 50 for rss in memory["cli_peak_rss_mb"].values())  # at least Python and numpy
    assert "skipped" in memory["gui"] or memory["gui"]["app_peak_rss_mb"] > 50


def test_startup_is_measured_to_the_window_with_the_seed_loaded(tmp_path):
    from musicgen_gui.bench import startup_seconds

    seed = tmp_path / "seed.wav"
    sf.write(seed, melody((220.0, 330.0), SR // 4, repeats=12), SR)
    shown = startup_seconds(seed, qt_platform="offscreen")
    assert shown["seed_seconds"] == pytest.approx(12 * 2 / 4, abs=0.01) and not shown["tensorflow_imported"]
    assert startup_seconds(qt_platform="offscreen")["seed_seconds"] == 0


def test_a_target_is_met_only_on_the_right_side_of_its_limit():
    from musicgen_gui.bench import targets

    found = {t["target"]: t["met"] for t in targets({
        "generation": {"default": {"real_time": 39.0}, "seed-2017": {"real_time": 21.0}},
        "latency": {"default": {"first_block_ms": 100.0}, "seed-2017": {"first_block_ms": 101.0}}})}
    assert found == {"default x real time": False, "seed-2017 x real time": True,
                     "default first block ms": True, "seed-2017 first block ms": False}


def test_targets_say_what_they_measured(report):
    targets = report["targets"]
    assert len(targets) >= 11
    by_name = {t["target"]: t["value"] for t in targets}
    assert by_name["default x real time"] == report["generation"]["default"]["real_time"]
    assert by_name["seed-2017 first block ms"] == report["latency"]["seed-2017"]["first_block_ms"]
