"""Generation speed against the naive Keras loop, first-block latency, start-up,
training throughput, peak memory and scaling, in one run.

    python benchmarks/bench.py [--quick] [--json PATH] [--audio FILE_OR_FOLDER ...]
                               [--model NAME_OR_FILE] [--model-2017 FILE] [--skip SECTION ...]

``musicgen bench`` runs it from a source checkout: a developer's tool, not shipped.

The machine may be shared, so every comparison is made within the run (the naive
loop and raw ``model.fit`` run in this process, right after the pipeline), figures
are medians, and the load average is recorded at the start and the end. The numpy
measurements come first: TensorFlow is imported only for the naive loop and for
training, and its threads would otherwise compete with them. docs/PERFORMANCE.md
explains each figure.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from musicgen_gui.core.audio_io import find_audio_files, load_audio, write_wav
from musicgen_gui.core.bundle import DEFAULT_MODEL, ModelBundle, load_bundle, random_bundle, save_bundle
from musicgen_gui.core.errors import MusicgenError
from musicgen_gui.core.fileio import atomic_file
from musicgen_gui.core.model import PRESETS, build_keras_model, import_keras

SECTIONS = ("generation", "threads", "latency", "scaling", "startup", "memory", "naive", "training")
SEED_SECONDS = 10.0
# Training batches left out of the timing: the first ones trace and compile the graph.
_TRAIN_WARMUP_BATCHES = 2


@dataclass(frozen=True)
class Plan:
    seconds: float  # continuation per generation run
    repeats: int  # generation runs per model
    naive_steps: int  # model.predict calls per model
    thread_steps: int  # predictor steps per timing of the BLAS thread count
    thread_rounds: int
    latency_runs: int
    startup_runs: int
    train_batches: int  # timed batches per preset, after the warm-up ones
    train_batch_size: int | None  # None: the preset's
    memory_seconds: float  # the continuation whose peak RSS is measured
    lengths: tuple[float, ...]  # continuation lengths for the scaling
    seed_lengths: tuple[float, ...]  # seed lengths for the scaling


FULL = Plan(seconds=30.0, repeats=3, naive_steps=40, thread_steps=40, thread_rounds=5,
            latency_runs=11, startup_runs=3, train_batches=10, train_batch_size=None, memory_seconds=60.0,
            lengths=(15.0, 30.0, 60.0, 120.0), seed_lengths=(1.0, 10.0, 60.0, 300.0))
# Every section, each cut to the least that exercises it: the figures are not worth quoting.
QUICK = Plan(seconds=3.0, repeats=1, naive_steps=4, thread_steps=10, thread_rounds=1,
             latency_runs=3, startup_runs=1, train_batches=2, train_batch_size=4, memory_seconds=2.0,
             lengths=(1.0, 2.0), seed_lengths=(1.0, 10.0))


def chord_music(seconds: float, rate: int) -> np.ndarray:
    """A slowly moving four-note chord: music-like rather than a steady tone."""
    t = np.arange(int(seconds * rate)) / rate
    notes = (261.63, 329.63, 392.0, 523.25)
    x = sum(0.15 * np.sin(2 * np.pi * f * t) * (0.6 + 0.4 * np.sin(2 * np.pi * (i + 1) * 0.3 * t))
            for i, f in enumerate(notes))
    return x.astype(np.float32)


def proc_status_mb(field: str, pid: int | str = "self") -> float:
    """A memory field of /proc/PID/status in MB: VmRSS now, VmHWM the peak so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise MusicgenError(f"/proc/{pid}/status has no {field}")


def _median(values) -> float:
    return float(statistics.median(values))


class _Ring:
    """The audio engine's shared-memory ring and its real write path, drained at
    once after each write, as if the device played infinitely fast."""

    def __init__(self, rate: int):
        from musicgen_gui.audio import engine
        from musicgen_gui.audio.player import RING_SECONDS, Playback

        self.shared = engine.Shared.create(int(RING_SECONDS * rate), multiprocessing.get_context("spawn"))
        self.playback = Playback(self.shared, 1, 0, rate, rate, latency_s=0.0)

    def write(self, samples: np.ndarray) -> None:
        self.playback.write(samples)
        self.shared.control["read"] = self.shared.control["written"]


# --- generation, latency, scaling: numpy only -------------------------------------------

def stream(bundle: ModelBundle, seed: np.ndarray, seconds: float, ring: _Ring, int8: bool = True) -> dict:
    """One continuation through the session into the ring, as the app streams it
    (on 8-bit weights, as the app does, unless ``int8`` is False).

    frames/s counts from the first block on (the warm-up is the latency's part);
    rss_growth_mb is the most the process grew while streaming.
    """
    from musicgen_gui.core.session import ContinuationParams, ContinuationSession

    rss_before = proc_status_mb("VmRSS")
    peak = rss_before
    session = ContinuationSession(bundle, seed, ContinuationParams(seconds=seconds, temperature=0.5, rng_seed=0, int8=int8))
    first = None
    next_sample = check_every = 2 * session.sample_rate
    for block in session.blocks():
        ring.write(block.samples)
        if first is None:
            first = time.perf_counter()
            first_samples = len(block.samples)
        if block.start_sample >= next_sample:
            peak = max(peak, proc_status_mb("VmRSS"))
            next_sample += check_every
    end = time.perf_counter()
    peak = max(peak, proc_status_mb("VmRSS"))
    frames = (session.total_samples - first_samples) / bundle.features.hop
    return {"frames_per_second": frames / (end - first), "rss_growth_mb": peak - rss_before}


def first_block_ms(bundle: ModelBundle, seed: np.ndarray, ring: _Ring) -> float:
    """Continue pressed to the first block in the ring: features, warm-up, the first frames and phase."""
    from musicgen_gui.core.session import ContinuationParams, ContinuationSession

    start = time.perf_counter()
    blocks = ContinuationSession(bundle, seed, ContinuationParams(seconds=5.0, temperature=0.5, rng_seed=0)).blocks()
    ring.write(next(blocks).samples)
    elapsed = time.perf_counter() - start
    blocks.close()
    return 1000 * elapsed


def int8_setup_ms(bundle: ModelBundle) -> float:
    """Making a bundle's 8-bit weights: once per model loaded, before its first continuation."""
    from dataclasses import replace

    from musicgen_gui.core.predictor import FramePredictor

    start = time.perf_counter()
    FramePredictor(replace(bundle), int8=True)  # a new bundle object: nothing cached
    return 1000 * (time.perf_counter() - start)


def blas_threads(bundle: ModelBundle, steps: int, rounds: int) -> dict:
    """The predictor's step with one BLAS thread (as the session pins it) and with two, alternated."""
    from threadpoolctl import threadpool_limits

    from musicgen_gui.core.predictor import FramePredictor

    predictor = FramePredictor(bundle)
    frame = np.random.default_rng(0).standard_normal((1, bundle.features.n_bins)).astype(np.float32)
    times: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(rounds):
        for threads, found in times.items():
            with threadpool_limits(limits=threads, user_api="blas"):
                predictor.step(frame)
                start = time.perf_counter()
                for _ in range(steps):
                    predictor.step(frame)
                found.append((time.perf_counter() - start) / steps)
    one, two = _median(times[1]), _median(times[2])
    return {"step_ms_1_thread": 1000 * one, "step_ms_2_threads": 1000 * two, "two_threads_speedup": one / two}


# --- naive loop and training: TensorFlow ------------------------------------------------------------

def naive_frames_per_second(bundle: ModelBundle, steps: int) -> float:
    """The naive loop: Keras ``model.predict`` on one frame per call, same weights."""
    from musicgen_gui.core.model import arrays_to_keras_weights

    model = build_keras_model(bundle.architecture, bundle.features.n_bins)
    arrays_to_keras_weights(model, bundle.architecture, bundle.weights)
    x = np.zeros((1, 1, bundle.features.n_bins), np.float32)
    model.predict(x, verbose=0)
    start = time.perf_counter()
    for _ in range(steps):
        x = model.predict(x, verbose=0)
    return steps / (time.perf_counter() - start)


def _batch_rate(intervals: list[float], frames_per_batch: int) -> float:
    return frames_per_batch / _median(intervals)


def training_frames_per_second(preset: str, audio: list[Path], plan: Plan, out: Path) -> dict:
    """``musicgen train`` (core.training.train) on real audio, stopped after the timed batches.

    Timed per batch from its progress reports, leaving out the warm-up batches and
    each epoch's first (an epoch's end validates and saves the model).
    """
    from musicgen_gui.core.training import train

    tcfg = PRESETS[preset].training
    batch_size = plan.train_batch_size or tcfg.batch_size
    stamps: list[tuple[int, float]] = []

    def progress(p):
        if p.stage == "training" and p.batch and not p.message:
            stamps.append((p.epoch, time.perf_counter()))

    train(audio, out / f"{preset}.musicgen", preset=preset, epochs=1000, batch_size=batch_size,
          progress=progress, should_stop=lambda: len(stamps) >= _TRAIN_WARMUP_BATCHES + plan.train_batches)
    intervals = [b[1] - a[1] for a, b in zip(stamps[_TRAIN_WARMUP_BATCHES - 1:], stamps[_TRAIN_WARMUP_BATCHES:])
                 if a[0] == b[0]]
    if not intervals:
        raise MusicgenError("the training audio is too short to time two batches of one epoch")
    return {"frames_per_second": _batch_rate(intervals, batch_size * tcfg.sequence_length),
            "batch_size": batch_size, "sequence_length": tcfg.sequence_length, "batches_timed": len(intervals)}


def raw_fit_batch_seconds(preset: str, plan: Plan) -> list[float]:
    """Plain ``model.fit`` with the same model, optimizer and batch shapes, on batches
    already in memory and prefetched (the most fit can do): the timed batches' durations."""
    keras = import_keras()
    import tensorflow as tf

    p = PRESETS[preset]
    tcfg = p.training
    batch_size = plan.train_batch_size or tcfg.batch_size
    optimizer = {"adam": keras.optimizers.Adam, "adadelta": keras.optimizers.Adadelta}[tcfg.optimizer]
    model = build_keras_model(p.architecture, p.features.n_bins)
    model.compile(optimizer=optimizer(learning_rate=tcfg.learning_rate, clipnorm=tcfg.clipnorm), loss="mse")
    n = batch_size * (_TRAIN_WARMUP_BATCHES + plan.train_batches)
    data = np.random.default_rng(0).standard_normal((n, tcfg.sequence_length + 1, p.features.n_bins), np.float32)
    stamps: list[float] = []
    timer = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: stamps.append(time.perf_counter()))
    batches = tf.data.Dataset.from_tensor_slices((data[:, :-1], data[:, 1:])).batch(batch_size).cache().prefetch(2)
    model.fit(batches, epochs=1, shuffle=False, verbose=0, callbacks=[timer])
    return list(np.diff(stamps[_TRAIN_WARMUP_BATCHES - 1:]))


# --- subprocesses: start-up and memory --------------------------------------------------------------

def _run(command: list[str], env: dict | None = None) -> str:
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise MusicgenError(f"a measuring subprocess failed ({result.returncode}): {result.stderr[-800:]}")
    return result.stdout


def core_import_seconds() -> dict:
    """A fresh interpreter importing what generation needs (numpy, scipy.fft, the core)."""
    code = ("import sys, time; t = time.perf_counter(); import musicgen_gui.core.session, musicgen_gui.core.bundle; "
            "print(time.perf_counter() - t, 'tensorflow' in sys.modules)")
    wall = time.perf_counter()
    seconds, tf = _run([sys.executable, "-c", code]).split()
    total = time.perf_counter() - wall
    return {"import_s": float(seconds), "process_s": total, "tensorflow_imported": tf == "True"}


def cli_peak_rss_mb(model: str, seed_file: Path, seconds: float, out: Path) -> float:
    """``musicgen continue`` in a fresh process (load, generate, write the WAV): its VmHWM at exit.

    Not the parent's view of the child (wait4's ru_maxrss): Linux carries the RSS
    of the forked copy of this process across exec into that figure.
    """
    argv = ["continue", str(seed_file), "-o", str(out / "continuation.wav"), "--seconds", str(seconds),
            "--model", model, "--rng-seed", "0"]
    code = (f"import atexit, sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); "
            "from bench import proc_status_mb; atexit.register(lambda: print(proc_status_mb('VmHWM'))); from musicgen_gui.cli import main; "
            f"sys.exit(main({argv!r}))")
    return float(_run([sys.executable, "-c", code]).split()[-1])


_STARTUP = """
import sys, time
t = time.perf_counter()
from PySide6.QtWidgets import QApplication
app = QApplication([])
from musicgen_gui.gui.main_window import MainWindow
w = MainWindow()
w.show()
if len(sys.argv) > 1:
    w.open_files(sys.argv[1:])
    while w.controller.seed.clip is None:
        app.processEvents()
app.processEvents()
seed = w.controller.seed.clip
print(time.perf_counter() - t, 'tensorflow' in sys.modules or 'keras' in sys.modules,
      len(seed.samples) / seed.sample_rate if seed else 0.0)
w.close()
"""


def startup_seconds(seed_file: Path | None = None, qt_platform: str | None = None) -> dict:
    """A fresh interpreter: from start to the main window shown (with ``seed_file`` loaded and drawn), and
    whether TensorFlow was imported. qt_platform: QT_QPA_PLATFORM for it ("offscreen" needs no display).

    Python may write its bytecode, as it does for a user's copy: the first start compiles the app's
    modules (0.1-0.3 s more) and later ones read them; callers time the later ones."""
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HOME": home, "XDG_CONFIG_HOME": home, "XDG_DATA_HOME": home}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        if qt_platform:
            env["QT_QPA_PLATFORM"] = qt_platform
        wall = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", _STARTUP, *([str(seed_file)] if seed_file else [])], env=env,
                             capture_output=True, text=True, check=True)
        total = time.perf_counter() - wall
    shown, tf, seed_seconds = out.stdout.split()[-3:]
    return {"window_shown_s": float(shown), "process_to_shown_s": round(total, 3), "tensorflow_imported": tf == "True",
            "seed_seconds": float(seed_seconds)}


def gui_streaming(model: str, seed_file: Path, seconds: float) -> dict:
    """The app offscreen on a private sound server, streaming one continuation: measure.py beside
    this file, which reports its processes' peak RSS."""
    measure = Path(__file__).resolve().parent / "measure.py"
    if shutil.which("pulseaudio") is None:
        return {"skipped": "PulseAudio is not installed (apt-get install pulseaudio pulseaudio-utils)"}
    output = _run([sys.executable, str(measure), "--model", model, "--seed", str(seed_file),
                   "--runs", "1", "--seconds", str(seconds), "--no-stop-test"],
                  {**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    result = {}
    for line in output.splitlines():
        if line.startswith("{"):
            result.update(json.loads(line))
    return result


# --- the run ------------------------------------------------------------------------------------------

def machine() -> dict:
    from threadpoolctl import threadpool_info

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    blas = [{k: lib.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for lib in threadpool_info() if lib.get("user_api") == "blas"]
    return {"cpus": os.cpu_count(), "cpu_model": cpu, "python": platform.python_version(),
            "numpy": np.__version__, "blas": blas, "date": time.strftime("%Y-%m-%d %H:%M:%S %z")}


def _load_music(paths: list[str], rate: int, seconds: float) -> tuple[np.ndarray, str]:
    """At least ``seconds`` of the given audio (repeated if shorter), or the synthetic chord."""
    if not paths:
        return chord_music(seconds, rate), "synthetic chord"
    files = find_audio_files(paths)
    if not files:
        raise MusicgenError("no audio files found in " + ", ".join(paths))
    parts, total = [], 0
    for f in files:
        parts.append(load_audio(f, rate).samples)
        total += len(parts[-1])
        if total >= seconds * rate:
            break
    music = np.concatenate(parts)
    return np.tile(music, -(-int(seconds * rate) // len(music))), f"{len(parts)} of {len(files)} files from " + ", ".join(paths)


def _training_audio(paths: list[str], plan: Plan, rate: int, folder: Path) -> list[Path]:
    """The given audio, or enough synthetic files for the timed batches (ten, one held out)."""
    if paths:
        return [Path(p) for p in paths]
    tcfg = PRESETS["default"].training
    frames = (_TRAIN_WARMUP_BATCHES + plan.train_batches + 1) * (plan.train_batch_size or tcfg.batch_size) * (
        tcfg.sequence_length + 1)
    seconds = frames * PRESETS["default"].features.hop / rate / 9 + 1
    folder.mkdir()
    for i in range(10):
        write_wav(folder / f"chord{i}.wav", np.roll(chord_music(seconds, rate), i * rate), rate)
    return [folder]


class _Run:
    """What the sections share: the plan, the two models, the music, a ring and a temp folder."""

    def __init__(self, args, tmp: Path):
        self.plan = QUICK if args.quick else FULL
        self.tmp = tmp
        self.audio_paths = args.audio
        self.default_model = args.model or DEFAULT_MODEL
        p2017 = PRESETS["seed-2017"]
        self.bundles = {
            "seed-2017": load_bundle(args.model_2017) if args.model_2017 else random_bundle(
                p2017.architecture, p2017.features, p2017.training, name="seed-2017"),
            "default": load_bundle(self.default_model)}
        # Subprocesses need files.
        self.model_args = {"default": self.default_model, "seed-2017": args.model_2017 or str(
            save_bundle(self.bundles["seed-2017"], tmp / "seed-2017.musicgen"))}
        self.models = {name: {"name": b.name, "parameters": b.parameter_count, "units": list(b.architecture.units),
                              "weights": (args.model_2017 or "random") if name == "seed-2017" else self.default_model}
                       for name, b in self.bundles.items()}
        self.rate = self.bundles["default"].features.sample_rate
        self.music, self.audio_source = _load_music(args.audio, self.rate,
                                                    max(max(self.plan.seed_lengths), SEED_SECONDS))
        self.seed = self.music[:int(SEED_SECONDS * self.rate)]
        self.seed_file = write_wav(tmp / "seed.wav", self.seed, self.rate)
        self.ring = _Ring(self.rate)

    def generation(self) -> dict:
        out = {}
        for name, bundle in self.bundles.items():
            runs: dict[bool, list[float]] = {True: [], False: []}
            for _ in range(self.plan.repeats):  # the engines alternate: the load may change
                for int8, found in runs.items():
                    found.append(stream(bundle, self.seed, self.plan.seconds, self.ring, int8)["frames_per_second"])
            fps, fps32 = _median(runs[True]), _median(runs[False])
            out[name] = {"frames_per_second": fps, "real_time": fps / bundle.features.frames_per_second,
                         "runs_frames_per_second": runs[True], "float32_frames_per_second": fps32,
                         "float32_runs_frames_per_second": runs[False], "int8_speedup": fps / fps32,
                         "seconds": self.plan.seconds}
        return out

    def threads(self) -> dict:
        return {name: blas_threads(bundle, self.plan.thread_steps, self.plan.thread_rounds)
                for name, bundle in self.bundles.items()}

    def latency(self) -> dict:
        out = {}
        for name, bundle in self.bundles.items():
            runs = [first_block_ms(bundle, self.seed, self.ring) for _ in range(self.plan.latency_runs)]
            out[name] = {"first_block_ms": _median(runs), "first_run_ms": runs[0], "runs": len(runs),
                         "seed_seconds": SEED_SECONDS, "int8_setup_ms": int8_setup_ms(bundle)}
        return out

    def scaling(self) -> dict:
        bundle = self.bundles["default"]
        by_length = {}
        for seconds in self.plan.lengths:
            r = stream(bundle, self.seed, seconds, self.ring)
            by_length[str(seconds)] = {"frames_per_second": r["frames_per_second"], "rss_growth_mb": r["rss_growth_mb"]}
        by_seed = {}
        for seconds in self.plan.seed_lengths:
            clip = self.music[:int(seconds * self.rate)]
            runs = [first_block_ms(bundle, clip, self.ring) for _ in range(max(3, self.plan.latency_runs // 3))]
            by_seed[str(seconds)] = {"first_block_ms": _median(runs)}
        return {"model": "default", "continuation_seconds": by_length, "seed_seconds": by_seed}

    def startup(self) -> dict:
        first = startup_seconds(self.seed_file, qt_platform="offscreen")  # writes the bytecode later starts read
        gui = [startup_seconds(self.seed_file, qt_platform="offscreen") for _ in range(self.plan.startup_runs)]
        core = [core_import_seconds() for _ in range(self.plan.startup_runs)]
        return {"gui_first_start_s": first["process_to_shown_s"],
                "gui_window_shown_s": _median(g["window_shown_s"] for g in gui),
                "gui_process_to_shown_s": _median(g["process_to_shown_s"] for g in gui),
                "gui_imported_tensorflow": any(g["tensorflow_imported"] for g in gui),
                "core_import_s": _median(c["import_s"] for c in core),
                "core_process_s": _median(c["process_s"] for c in core),
                "core_imported_tensorflow": any(c["tensorflow_imported"] for c in core), "runs": len(gui)}

    def memory(self) -> dict:
        seconds = self.plan.memory_seconds
        return {"seconds": seconds,
                "cli_peak_rss_mb": {name: cli_peak_rss_mb(self.model_args[name], self.seed_file, seconds, self.tmp)
                                    for name in self.bundles},
                "gui": gui_streaming(self.default_model, self.seed_file, seconds)}

    def naive(self) -> dict:
        return {name: {"frames_per_second": naive_frames_per_second(b, self.plan.naive_steps),
                       "steps": self.plan.naive_steps} for name, b in self.bundles.items()}

    def training(self) -> dict:
        audio = _training_audio(self.audio_paths, self.plan, self.rate, self.tmp / "training-audio")
        out = {}
        # The plain presets: a seed-conditioned model's batches are made with its memory search in
        # numpy, which plain model.fit has no counterpart for (its rate is in its training log).
        for preset in (name for name, p in PRESETS.items() if not p.architecture.conditioned):
            # Raw fit before and after, pooled: the load may change while they run.
            raw_batches = raw_fit_batch_seconds(preset, self.plan)
            trained = training_frames_per_second(preset, audio, self.plan, self.tmp)
            raw_batches += raw_fit_batch_seconds(preset, self.plan)
            raw = _batch_rate(raw_batches, trained["batch_size"] * trained["sequence_length"])
            out[preset] = {**trained, "raw_fit_frames_per_second": raw,
                           "fraction_of_raw": trained["frames_per_second"] / raw}
        return out


def run(args) -> int:
    skip = set(args.skip or ())
    report: dict = {"machine": machine(), "load_average_start": list(os.getloadavg()),
                    "plan": {"quick": args.quick, **asdict(QUICK if args.quick else FULL)}, "section_seconds": {}}
    with tempfile.TemporaryDirectory(prefix="musicgen-bench-") as tmp:
        bench = _Run(args, Path(tmp))
        report["models"], report["audio"] = bench.models, bench.audio_source
        for section in SECTIONS:  # in this order: the TensorFlow ones last
            if section in skip:
                continue
            print(f"{section} ...", file=sys.stderr, flush=True)
            start = time.perf_counter()
            report[section] = getattr(bench, section)()
            report["section_seconds"][section] = time.perf_counter() - start
    if "generation" in report and "naive" in report:
        for name, g in report["generation"].items():
            g["vs_naive"] = g["frames_per_second"] / report["naive"][name]["frames_per_second"]
    report["load_average_end"] = list(os.getloadavg())
    report["targets"] = targets(report)
    print(table(report))
    if args.json:
        with atomic_file(args.json, "w") as f:
            f.write(json.dumps(report, indent=1))
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def targets(report: dict) -> list[dict]:
    """The issue's targets, each with the measured value and whether it is met."""
    found = []

    def check(name, value, limit, at_least=True):
        found.append({"target": name, "value": value, "limit": limit, "at_least": at_least,
                      "met": bool(value >= limit if at_least else value <= limit)})

    for name, g in report.get("generation", {}).items():
        check(f"{name} x real time", g["real_time"], 20.0 if name == "seed-2017" else 40.0)
        if "vs_naive" in g:
            check(f"{name} x naive loop", g["vs_naive"], 50.0)
    for name, lat in report.get("latency", {}).items():
        check(f"{name} first block ms", lat["first_block_ms"], 100.0, at_least=False)
    if "startup" in report:
        check("GUI start s", report["startup"]["gui_process_to_shown_s"], 2.0, at_least=False)
    for preset, t in report.get("training", {}).items():
        check(f"{preset} training / raw fit", t["fraction_of_raw"], 0.9)
    memory = report.get("memory", {})
    for name, rss in memory.get("cli_peak_rss_mb", {}).items():
        check(f"{name} continue peak RSS MB", rss, 800.0, at_least=False)
    if "app_peak_rss_mb" in memory.get("gui", {}):
        check("GUI streaming peak RSS MB", memory["gui"]["app_peak_rss_mb"], 800.0, at_least=False)
    return found


def _section(title: str, columns: list[str], rows: list[list[str]], left: int = 1) -> list[str]:
    """A titled block of columns: the first ``left`` aligned left, the others right."""
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(columns)]
    return ["", title] + ["  " + "  ".join(v.ljust(w) if i < left else v.rjust(w)
                                           for i, (v, w) in enumerate(zip(row, widths))).rstrip()
                          for row in [columns] + rows]


def table(r: dict) -> str:
    m = r["machine"]
    nan = float("nan")
    lines = [f"musicgen bench{' --quick (figures not to be quoted)' if r['plan']['quick'] else ''}: "
             f"{m['cpus']} x {m['cpu_model']}, load average (1 min) {r['load_average_start'][0]:.2f} at the "
             f"start, {r['load_average_end'][0]:.2f} at the end", f"audio: {r['audio']}"]
    if "generation" in r:
        lines += _section("generation, batch 1: session -> ring on 8-bit weights, as the app runs (frames/s from "
                          "the first block on; 1 frame = 23.2 ms); float32 alongside",
                          ["model", "params", "frames/s", "x real time", "float32 f/s", "naive f/s", "x naive"],
                          [[name, f"{r['models'][name]['parameters']:,}", f"{g['frames_per_second']:.0f}",
                            f"{g['real_time']:.1f}", f"{g['float32_frames_per_second']:.0f}",
                            f"{r.get('naive', {}).get(name, {}).get('frames_per_second', nan):.1f}",
                            f"{g.get('vs_naive', nan):.0f}"] for name, g in r["generation"].items()])
    if "threads" in r:
        lines += _section("float32 predictor step with 1 BLAS thread (as generation runs) and with 2",
                          ["model", "1 thread ms", "2 threads ms", "speed-up"],
                          [[name, f"{t['step_ms_1_thread']:.3f}", f"{t['step_ms_2_threads']:.3f}",
                            f"{t['two_threads_speedup']:.2f}"] for name, t in r["threads"].items()])
    if "latency" in r:
        lines += _section(f"first block in the ring after Continue, {SEED_SECONDS:.0f} s seed",
                          ["model", "median ms", "first run ms", "runs", "8-bit set-up ms (once per model)"],
                          [[name, f"{lat['first_block_ms']:.1f}", f"{lat['first_run_ms']:.1f}", str(lat["runs"]),
                            f"{lat['int8_setup_ms']:.0f}"] for name, lat in r["latency"].items()])
    if "scaling" in r:
        s = r["scaling"]
        lines += _section("scaling (default model): continuation length", ["seconds", "frames/s", "RSS growth MB"],
                          [[k, f"{v['frames_per_second']:.0f}", f"{v['rss_growth_mb']:.1f}"]
                           for k, v in s["continuation_seconds"].items()])
        lines += _section("scaling (default model): seed length", ["seconds", "first block ms"],
                          [[k, f"{v['first_block_ms']:.1f}"] for k, v in s["seed_seconds"].items()])
    if "startup" in r:
        s = r["startup"]
        lines += ["", f"start-up: GUI window shown {s['gui_process_to_shown_s']:.2f} s after the process started "
                      f"({s['gui_window_shown_s']:.2f} s after the first import; TensorFlow imported: "
                      f"{s['gui_imported_tensorflow']}; the first start, which compiles the app, "
                      f"{s['gui_first_start_s']:.2f} s); core import {1000 * s['core_import_s']:.0f} ms"]
    if "memory" in r:
        mem = r["memory"]
        gui = mem["gui"]
        gui_text = (f"GUI streaming {gui['app_peak_rss_mb']:.0f} MB (+ audio process "
                    f"{gui['audio_process_peak_rss_mb']:.0f} MB; first sound {gui.get('first_sound_ms')} ms, "
                    f"underruns {gui.get('underruns')})" if "app_peak_rss_mb" in gui else f"GUI: {gui.get('skipped')}")
        lines += ["", f"peak RSS, {mem['seconds']:g} s continuation: "
                  + ", ".join(f"musicgen continue {k} {v:.0f} MB" for k, v in mem["cli_peak_rss_mb"].items())
                  + f"; {gui_text}"]
    if "training" in r:
        lines += _section("training (frames/s, median batch)", ["preset", "musicgen train", "raw model.fit", "fraction"],
                          [[preset, f"{t['frames_per_second']:.0f}", f"{t['raw_fit_frames_per_second']:.0f}",
                            f"{t['fraction_of_raw']:.2f}"] for preset, t in r["training"].items()])
    if r["targets"]:
        lines += _section("targets", ["", "target", "measured", "limit"],
                          [["met" if t["met"] else "MISSED", t["target"], f"{t['value']:.2f}",
                            f"{'>=' if t['at_least'] else '<='} {t['limit']:g}"] for t in r["targets"]], left=2)
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Measure speed, first sound, start-up, training and memory "
                                                 "(docs/PERFORMANCE.md).")
    parser.add_argument("--quick", action="store_true", help="every section, cut short (about two minutes)")
    parser.add_argument("--json", metavar="FILE", help="write every figure here")
    parser.add_argument("--audio", nargs="+", default=[], metavar="PATH",
                        help="music (files or folders) for seeds and training (default: a synthetic chord)")
    parser.add_argument("--model", help=f"the default-preset model, bundled name or file (default: {DEFAULT_MODEL})")
    parser.add_argument("--model-2017", metavar="FILE",
                        help="a seed-2017 model file (default: random weights of that shape; speed does not "
                             "depend on what the weights learned)")
    parser.add_argument("--skip", nargs="+", choices=SECTIONS, metavar="SECTION",
                        help=f"leave sections out: {', '.join(SECTIONS)}")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except MusicgenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
