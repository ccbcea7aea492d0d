"""``musicgen``: continue, train and evaluate from the command line.

Every problem the user can fix ends the program with exit code 2 and one line
``error: ...`` on stderr; nothing is half-written.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .core.errors import MusicgenError
from .core.fileio import output_problem


def _writable_output(path: Path) -> Path:
    problem = output_problem(path)
    if problem:
        raise MusicgenError(f"cannot write {path}: {problem}")
    return path


def _random_seed(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value}: must be 0 or more")
    return value


def cmd_continue(args) -> int:
    import soundfile as sf

    from .core.analysis import analyse
    from .core.audio_io import load_audio, write_wav
    from .core.bundle import DEFAULT_MODEL, load_bundle
    from .core.export import SeedSource, acid_chunk, describe, write_with_seed
    from .core.params import MAX_SEED_SECONDS, ContinuationParams
    from .core.session import ContinuationSession

    output = _writable_output(Path(args.output))
    if output.suffix.lower() != ".wav":  # another extension would mislabel the WAV written, as an MP3 say
        raise MusicgenError(f"cannot write {output}: the continuation is written as WAV; name it .wav")
    if Path(args.seed).exists() and output.exists() and output.samefile(args.seed):
        raise MusicgenError(f"cannot write {output}: it is the seed file; choose another name")
    bundle = load_bundle(args.model or DEFAULT_MODEL)
    seed = load_audio(args.seed, bundle.features.sample_rate, max_seconds=MAX_SEED_SECONDS)
    if seed.truncated:
        print(f"note: the seed was cropped to its first {MAX_SEED_SECONDS:g} s", file=sys.stderr)
    params = ContinuationParams(seconds=args.seconds, temperature=args.temperature, rng_seed=args.rng_seed,
                                anchor=not args.no_anchor, adapt_seconds=args.adapt, int8=not args.float32,
                                follow=args.follow)
    session = ContinuationSession(bundle, seed.samples, params)
    if args.adapt:
        print(f"adapting the model to the seed for {args.adapt:g} s", file=sys.stderr)
    started = time.perf_counter()
    audio = session.render(_progress_printer("generating") if sys.stderr.isatty() else None)
    elapsed = time.perf_counter() - started
    if session.adaptation is not None:
        a = session.adaptation
        print(f"adapted: {a.steps} steps in {a.seconds:.1f} s (after {a.startup_seconds:.1f} s loading "
              f"TensorFlow), seed loss {a.first_loss:.3f} -> {a.last_loss:.3f}", file=sys.stderr)
    continuation = analyse(audio, bundle.features, like=session.seed_analysis)
    rate = session.sample_rate
    settings = params.to_dict()
    if args.with_seed:  # the seed as it is in its file (its rate and channels), the continuation brought to it
        start_s = (len(seed.samples) - len(session.seed)) / rate  # the session dropped these to align its frames
        source = SeedSource(str(args.seed), start_s, len(seed.samples) / rate)
        written, rate = write_with_seed(output, source, session.seed, audio, session.sample_rate, args.bits,
                                        session.seed_analysis, output.stem, describe("continuation", bundle.name,
                                                                                    settings, source))
    else:
        written = write_wav(output, audio, rate, args.bits, title=output.stem,
                            comment=describe("continuation", bundle.name, settings, None),
                            chunks=acid_chunk(len(audio) / rate, session.seed_analysis))
    seconds = session.total_samples / session.sample_rate
    print(f"wrote {output} ({sf.info(written).frames / rate:.2f} s; generated {seconds:.2f} s "
          f"in {elapsed:.2f} s, {seconds / elapsed:.1f}x real time)", file=sys.stderr)
    # After the work, so that a problem still ends in one error line.
    for note in session.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"seed: {session.seed_analysis.describe()}; continuation: {continuation.describe()}", file=sys.stderr)
    return 0


def _progress_printer(label: str):
    def show(fraction: float):
        bar = "#" * int(30 * fraction)
        print(f"\r{label} [{bar:<30}] {100 * fraction:5.1f}%", end="" if fraction < 1 else "\n",
              file=sys.stderr, flush=True)
    return show


def cmd_train(args) -> int:
    from .core.training import train

    output = _writable_output(Path(args.output))
    last_line = {"t": 0.0}
    interactive = sys.stderr.isatty()

    def show(p):
        now = time.monotonic()
        final = p.stage in ("done", "stopped", "note") or (p.stage == "training" and p.batch == p.batches)
        if not final and now - last_line["t"] < (0.2 if interactive else 10.0):
            return
        last_line["t"] = now
        if p.stage == "loading":
            text = f"loading audio {p.batch + 1}/{p.batches}: {p.message}"
        elif p.stage == "training":
            done = p.batch / max(p.batches, 1)
            eta = f" ETA {_duration(p.eta_seconds)}" if p.eta_seconds is not None else ""
            val = f" val {p.val_loss:.4f}" if p.val_loss is not None else ""
            loss = f" loss {p.loss:.4f}" if p.loss is not None else ""
            text = (f"epoch {p.epoch}/{p.epochs} [{'#' * int(20 * done):<20}] {p.batch}/{p.batches}"
                    f"{loss}{val} {p.frames_per_second:,.0f} frames/s{eta}")
        else:
            text = p.message
        if interactive:
            print(f"\r\033[K{text}", end="\n" if final else "", file=sys.stderr, flush=True)
        else:
            print(text, file=sys.stderr, flush=True)

    try:
        path = train(args.folders, output, preset=args.preset, epochs=args.epochs, resume=args.resume,
                     cell=args.cell, batch_size=args.batch_size, checkpoint_every=args.checkpoint_every,
                     seed=args.rng_seed, validation=args.validation, data_note=args.data_note,
                     distributed=args.distributed, progress=show)
    except KeyboardInterrupt:
        print("\ninterrupted; run the same command with --resume to go on from the last checkpoint",
              file=sys.stderr)
        return 130
    # In a distributed run only worker 0 writes the model (elsewhere it may not be on this machine).
    print(f"model written to {path}" if path.is_file() else "done; worker 0 wrote the model", file=sys.stderr)
    return 0


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def cmd_bench(args) -> int:
    import subprocess

    # A developer's tool, so the installed package leaves it out; a checkout has it beside the package.
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"
    if not script.is_file():
        raise MusicgenError("musicgen bench needs a source checkout of musicgen-gui: it runs benchmarks/bench.py, "
                            "which is not installed with the app")
    return subprocess.run([sys.executable, str(script), *args.bench_args]).returncode


def _seed_sets(args) -> dict[str, list[str]]:
    """The named seed sets: --data is one set called "data", each --set NAME=DIR another."""
    sets = {"data": args.data} if args.data else {}
    for spec in args.set:
        name, _, folder = spec.partition("=")
        if not name or not folder:
            raise MusicgenError(f"--set takes NAME=DIR, not {spec!r}")
        if name in sets:
            raise MusicgenError(f"the seed set {name!r} is given twice")
        sets[name] = [folder]
    if not sets:
        raise MusicgenError("give held-out audio to evaluate on: --data DIR or --set NAME=DIR (one or more)")
    return sets


def _pair(model, truth, fmt: str) -> str:
    """'model/truth', a dash for a value not judged (beat on a seed without one)."""
    return "/".join("–" if v is None else format(v, fmt) for v in (model, truth))


# What a listener notices (issue 17): field, heading, format, whether the truth's value is shown beside it
# (a ratio is the continuation's over the truth's: the truth's own is 1).
LISTENER_MEASURES = (("attack_db", "attacks dB", ".2f", True), ("attack_ratio", "share", ".2f", False),
                     ("detail_db", "detail dB", ".2f", True), ("detail_ratio", "share", ".2f", False),
                     ("self_distance_db", "self-dist dB", ".1f", True), ("movement_db", "movement dB", ".1f", True),
                     ("movement_ratio", "share", ".2f", False), ("movement_change_db", "4s step dB", ".1f", True),
                     ("loudness_range_lu", "LRA LU", ".1f", True))


def _median(values):
    import numpy as np

    values = [v for v in values if v is not None]
    return float(np.median(values)) if values else None


def _listener_cells(model: dict, truth: dict) -> str:
    """The listener measures' cells: ``model`` and ``truth`` map each field to a value (or None)."""
    cells = []
    for field, heading, fmt, paired in LISTENER_MEASURES:
        cell = _pair(model[field], truth[field], fmt) if paired else "–" if model[field] is None else \
            format(model[field], fmt)
        cells.append(f"{cell:>{max(len(heading), 11 if paired else 5)}}")
    return " ".join(cells)


def _listener_header() -> str:
    return " ".join(f"{h:>{max(len(h), 11 if paired else 5)}}" for _, h, _, paired in LISTENER_MEASURES)


def _print_listener_table(name: str, evaluations, horizon: str) -> None:
    print(f"{name}, what a listener notices, model / truth (share: model's over truth's, median over draws)")
    print(f"{'#':>3}  {'file':<22} {_listener_header()}")

    def medians(scores):
        scores = list(scores)
        return {f: _median(getattr(s, f) for s in scores) for f, *_ in LISTENER_MEASURES}

    for i, e in enumerate(evaluations, 1):
        name_ = e.clip.path.name if len(e.clip.path.name) <= 22 else e.clip.path.name[:21] + "~"
        print(f"{i:>3}  {name_:<22} "
              + _listener_cells(medians(d.scores[horizon] for d in e.draws), medians([e.truth[horizon]])))
    print(f"{'':>3}  {'median':<22} " + _listener_cells(
        medians(d.scores[horizon] for e in evaluations for d in e.draws), medians(e.truth[horizon] for e in evaluations)))


def _print_set_table(ev, name: str, evaluations, horizon: str, draws: int) -> None:

    where = (f"{ev.SKIP_SECONDS:g}-{ev.HORIZONS[horizon]:g} s" if ev.HORIZONS[horizon] is not None
             else f"{ev.SKIP_SECONDS:g} s to the end")
    print(f"\n{name}: scored {where} after the seam; model (median of {draws} draw{'s' * (draws != 1)}) / truth")
    print(f"{'#':>3}  {'file':<22} {'at s':>6} {'key':>11} {'beat':>11} {'timbre dB':>11} {'replay':>9} "
          f"{'loud max LU':>11} {'bias LU':>11} {'clip %':>11} {'dBTP':>11} {'repeat':>9} {'passes':>7}  model misses")

    median = _median

    def row(label, model, truth, tail):
        cells = [_pair(median(getattr(s, f) for s in model), median(getattr(s, f) for s in truth), fmt)
                 for f, fmt in (("key_correlation", ".2f"), ("beat_strength", ".2f"), ("timbre_db", ".1f"),
                                ("replay_fraction", ".2f"), ("loudness_max_lu", ".1f"),
                                ("loudness_bias_lu", "+.1f"))]
        clip = _pair(100 * median(s.clipped_fraction for s in model), 100 * median(s.clipped_fraction for s in truth),
                     ".2f")
        peak = _pair(median(s.true_peak_dbtp for s in model), median(s.true_peak_dbtp for s in truth), "+.1f")
        repeat = _pair(median(s.self_repetition for s in model), median(s.self_repetition for s in truth), ".2f")
        print(f"{label} {cells[0]:>11} {cells[1]:>11} {cells[2]:>11} {cells[3]:>9} {cells[4]:>11} {cells[5]:>11} "
              f"{clip:>11} {peak:>11} {repeat:>9} {tail}")

    for i, e in enumerate(evaluations, 1):
        model = [d.scores[horizon] for d in e.draws]
        misses = {}
        for s in model:
            for target in s.failures():
                misses[target] = misses.get(target, 0) + 1
        name_ = e.clip.path.name if len(e.clip.path.name) <= 22 else e.clip.path.name[:21] + "~"
        passes = f"{sum(s.passed for s in model)}/{len(model)}/{'P' if e.truth[horizon].passed else '-'}"
        row(f"{i:>3}  {name_:<22} {e.clip.offset_seconds:>6.1f}", model, [e.truth[horizon]],
            f"{passes:>7}  " + (" ".join(f"{t}×{n}" for t, n in misses.items()) or "–"))
    row(f"{'':>3}  {'median':<22} {'':>6}", [d.scores[horizon] for e in evaluations for d in e.draws],
        [e.truth[horizon] for e in evaluations], "")
    s = ev.summarise(evaluations)[horizon]
    m, t = s["model"], s["truth"]
    print(f"passes: model {m['passed']['mean']:.1f} of {len(evaluations)} (min {m['passed']['min']}, max "
          f"{m['passed']['max']} over {draws} draws), truth {t['passed']}; loudness (3 s windows within "
          f"±{ev.MAX_LOUDNESS_LU:g} LU, median within ±{ev.MAX_LOUDNESS_BIAS_LU:g}): model {m['loudness_kept']['mean']:.1f}, "
          f"truth {t['loudness_kept']}; loudness range within {ev.MAX_LOUDNESS_RANGE_DIFFERENCE_LU:g} LU of the truth's: "
          f"model {m['range_kept']['mean']:.1f}; no more clipping than the seed: "
          f"model {m['peaks_kept']['mean']:.1f}, truth {t['peaks_kept']}")
    print("meeting each target, model (mean over draws) / truth: " +
          ", ".join(f"{target} {m['meeting'][target]['mean']:.1f}/{t['meeting'][target]}" for target in ev.TARGETS))
    _print_listener_table(name, evaluations, horizon)


def cmd_evaluate(args) -> int:
    from dataclasses import replace

    from .core import evaluation as ev
    from .core.bundle import load_bundle
    from .core.params import ContinuationParams

    json_path = _writable_output(Path(args.json)) if args.json else None
    if args.draws < 1:
        raise MusicgenError("--draws must be at least 1")
    sets = _seed_sets(args)
    params = ContinuationParams(seconds=args.seconds, temperature=args.temperature, rng_seed=args.rng_seed,
                                anchor=not args.no_anchor, adapt_seconds=args.adapt, int8=not args.float32,
                                follow=args.follow)
    bundle = load_bundle(args.model)
    # Picking the clips first: a folder without enough audio fails before any long work.
    clips = {name: ev.pick_clips(folders, bundle.features, args.seeds, args.seed_seconds, args.seconds,
                                 which_half=args.half)
             for name, folders in sets.items()}
    plots = Path(args.plots) if args.plots else None
    if plots is not None:
        ev.check_plotting()
        plots.mkdir(parents=True, exist_ok=True)

    print(f"model {bundle.name} ({bundle.preset}, {bundle.parameter_count:,} parameters); seeds of "
          f"{args.seed_seconds:g} s continued for {args.seconds:g} s at temperature {args.temperature:g}, follow "
          f"{params.follow:g}, {args.draws} draw{'s' * (args.draws != 1)} each")
    results = {}
    for name, folders in sets.items():
        tf = ev.teacher_forced_error(bundle, folders, int8=not args.float32)
        print(f"\nset {name} ({', '.join(folders)}): {len(clips[name])} seeds; teacher-forced next-frame MSE over "
              f"{tf.windows} windows from {tf.files} files: model {tf.model_mse:.4f}, persistence "
              f"{tf.persistence_mse:.4f}, ratio {tf.ratio:.3f} (target <= {ev.MAX_TEACHER_FORCED_RATIO})", flush=True)
        if len(clips[name]) < args.seeds:
            print(f"note: the set {name} gives only {len(clips[name])} seeds", file=sys.stderr)
        evaluations = []
        for i, clip in enumerate(clips[name], 1):
            e = ev.evaluate_clip(bundle, clip, replace(params, rng_seed=args.rng_seed + i - 1), args.draws)
            evaluations.append(e)
            print(f"{name} seed {i}/{len(clips[name])}: {clip.path.name} at {clip.offset_seconds:.1f} s, passes "
                  + ", ".join(f"{h} {sum(d.scores[h].passed for d in e.draws)}/{args.draws} "
                              f"(truth {'passes' if e.truth[h].passed else 'fails'})" for h in ev.HORIZONS),
                  file=sys.stderr, flush=True)
            if plots is not None:
                ev.plot_evaluation(bundle.features, e, plots / f"{name}-seed{i:02d}.png",
                                   f"{bundle.name}, {name} seed {i}: {clip.path.name} at {clip.offset_seconds:.1f} s")
        for horizon in ev.HORIZONS:
            _print_set_table(ev, name, evaluations, horizon, args.draws)
        results[name] = (tf, evaluations)

    print(f"\nsummary: seeds passing, model (mean over {args.draws} draws, min-max) / truth; medians model / truth")
    print(f"{'set':<16} {'scored':<7} {'seeds':>5} {'model':>14} {'truth':>5} {'key':>11} {'beat':>11} "
          f"{'timbre dB':>11} {'replay':>9} {'loud max LU':>11} {'loud ok':>9} {'peaks ok':>9}")
    for name, (_, evaluations) in results.items():
        summary = ev.summarise(evaluations)
        for horizon in ev.HORIZONS:
            m, t = summary[horizon]["model"], summary[horizon]["truth"]
            med = {f: _pair(m["median"][f], t["median"][f], fmt) for f, fmt in
                   (("key_correlation", ".2f"), ("beat_strength", ".2f"), ("timbre_db", ".1f"),
                    ("replay_fraction", ".2f"), ("loudness_max_lu", ".1f"))}
            passes = f"{m['passed']['mean']:.1f} ({m['passed']['min']}-{m['passed']['max']})"
            print(f"{name:<16} {horizon:<7} {summary['seeds']:>5} {passes:>14} {t['passed']:>5} "
                  f"{med['key_correlation']:>11} {med['beat_strength']:>11} {med['timbre_db']:>11} "
                  f"{med['replay_fraction']:>9} {med['loudness_max_lu']:>11} "
                  f"{_pair(m['loudness_kept']['mean'], t['loudness_kept'], '.1f'):>9} "
                  f"{_pair(m['peaks_kept']['mean'], t['peaks_kept'], '.1f'):>9}")
    print("\nsummary, what a listener notices: medians model / truth (share: median of the per-seed shares)")
    print(f"{'set':<16} {'scored':<7} {_listener_header()}")
    for name, (_, evaluations) in results.items():
        summary = ev.summarise(evaluations)
        for horizon in ev.HORIZONS:
            print(f"{name:<16} {horizon:<7} "
                  + _listener_cells(summary[horizon]["model"]["median"], summary[horizon]["truth"]["median"]))
    print("\nreadout (tempo and key): seeds whose score's tempo / key it matches, of those labelled; seeds whose "
          f"continuation reads as the seed where the truth does (mean over {args.draws} draws)")
    for name, (_, evaluations) in results.items():
        r = ev.summarise(evaluations)["readout"]
        print(f"{name:<16} tempo {r['tempo_ok']}/{r['tempo_labelled']}  key {r['key_ok']}/{r['key_labelled']}  "
              f"continuation as seed {r['continuation_same']['mean']:.1f}/{r['truth_same']}")
    if json_path is not None:
        settings = {"sets": sets, "seeds": args.seeds, "seed_seconds": args.seed_seconds, "seconds": args.seconds,
                    "draws": args.draws, "temperature": args.temperature, "rng_seed": args.rng_seed,
                    "anchor": not args.no_anchor, "adapt_seconds": args.adapt, "int8": not args.float32,
                    "follow": params.follow}
        ev.write_json(ev.report(bundle, settings, results), json_path)
        print(f"wrote {json_path}", file=sys.stderr)
    return 0


def _add_adapt_option(p: argparse.ArgumentParser) -> None:
    from .core.params import DEFAULT_ADAPT_SECONDS, MAX_ADAPT_SECONDS

    p.add_argument("--adapt", type=float, nargs="?", const=DEFAULT_ADAPT_SECONDS, default=0.0, metavar="SECONDS",
                   help=f"first fine-tune a copy of the model on the seed for this long (default "
                        f"{DEFAULT_ADAPT_SECONDS:g} s, at most {MAX_ADAPT_SECONDS:g}; needs TensorFlow)")


def _add_follow_option(p: argparse.ArgumentParser) -> None:
    from .core.params import DEFAULT_FOLLOW

    p.add_argument("--follow", type=float, default=DEFAULT_FOLLOW, metavar="0..1",
                   help=f"how closely to follow the seed's own material: 1 stays close, 0 lets the model wander "
                        f"(default {DEFAULT_FOLLOW:g})")


def _add_float32_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--float32", action="store_true",
                   help="run the model in float32 as trained, not on 8-bit copies of its weights (slower)")


def build_parser() -> argparse.ArgumentParser:
    from .core.audio_io import AUDIO_KINDS, EXPORT_SUBTYPES
    from .core.model import CELLS, PRESETS

    parser = argparse.ArgumentParser(prog="musicgen", description="Continue music with a frame-predicting LSTM.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("continue", help="write the continuation of a seed clip")
    p.add_argument("seed", help=f"audio file to continue ({AUDIO_KINDS})")
    p.add_argument("-o", "--output", required=True, help="WAV file to write")
    p.add_argument("--model", help="bundled model name or path to a .musicgen file (default: piano)")
    p.add_argument("--seconds", type=float, default=20.0, help="length of the continuation (default 20)")
    p.add_argument("--temperature", type=float, default=0.5, help="variation, 0 = none (default 0.5)")
    p.add_argument("--rng-seed", type=_random_seed, default=None,
                   help="fix the random variation for repeatable output")
    p.add_argument("--with-seed", action="store_true", help="write the seed before the continuation")
    p.add_argument("--no-anchor", action="store_true", help="let the key, level and timbre drift from the seed's")
    _add_follow_option(p)
    p.add_argument("--bits", choices=list(EXPORT_SUBTYPES), default="16", help="sample format (default 16)")
    _add_float32_option(p)
    _add_adapt_option(p)
    p.set_defaults(func=cmd_continue)

    p = sub.add_parser("train", help="train a model on folders of audio")
    p.add_argument("folders", nargs="+", help="folders (or files) of audio")
    p.add_argument("-o", "--output", required=True, help="model file to write (.musicgen)")
    p.add_argument("--preset", choices=list(PRESETS), default="default")
    p.add_argument("--cell", choices=list(CELLS), default=None, help="recurrent cell (default: the preset's)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--checkpoint-every", type=int, default=100, metavar="BATCHES")
    p.add_argument("--validation", nargs="+", metavar="FOLDER",
                   help="held-out tracks for validation (default: 10%% of the files, chosen at random)")
    p.add_argument("--data-note", default="", metavar="TEXT",
                   help="where the audio came from and its licence, stored in the model")
    p.add_argument("--rng-seed", type=_random_seed, default=0)
    p.add_argument("--resume", action="store_true", help="go on from the last checkpoint of the same output")
    p.add_argument("--distributed", action="store_true",
                   help="one worker of a multi-machine run: the cluster and this worker's index come from "
                        "TF_CONFIG, and --batch-size is the global batch (see docs/TRAINING.md)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="measure a model: next-frame error and continuations of held-out seeds")
    p.add_argument("model", help="bundled model name or path to a .musicgen file")
    p.add_argument("--data", nargs="+", metavar="DIR", help="folders (or files) of held-out audio: one seed set")
    p.add_argument("--set", action="append", default=[], metavar="NAME=DIR",
                   help="a named seed set, reported beside the others (repeat: e.g. --set in-domain=DIR "
                        "--set out-of-domain=DIR)")
    p.add_argument("--seeds", type=int, default=10, help="seeds per set to continue (default 10)")
    p.add_argument("--half", choices=("tune", "report", "all"), default="all",
                   help="only the files of one half of each set (a fixed split by file name): choose settings "
                        "on 'tune', quote 'report' (default: all)")
    p.add_argument("--draws", type=int, default=3,
                   help="continuations of each seed, each with other random variation (default 3)")
    p.add_argument("--seed-seconds", type=float, default=8.0, help="length of each seed (default 8)")
    p.add_argument("--seconds", type=float, default=60.0,
                   help="length of each continuation (default 60); scored from 2 s on, to 22 s and to the end")
    p.add_argument("--temperature", type=float, default=0.5, help="variation, 0 = none (default 0.5)")
    _add_follow_option(p)
    p.add_argument("--rng-seed", type=_random_seed, default=0,
                   help="random variation of a set's first seed; +1 per seed, +1000 per draw")
    p.add_argument("--no-anchor", action="store_true", help="let the key, level and timbre drift from the seed's")
    _add_float32_option(p)
    _add_adapt_option(p)
    p.add_argument("--plots", metavar="DIR", help="write a PNG per seed here (created if missing)")
    p.add_argument("--json", metavar="FILE", help="write every number here")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("bench", add_help=False, help="measure speed, first sound, start-up, training and memory "
                                                     "(docs/PERFORMANCE.md; a source checkout's benchmarks/bench.py)")
    p.set_defaults(func=cmd_bench)  # its options are bench.py's own (--help lists them)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.func is cmd_bench:
        args.bench_args = rest
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return args.func(args)
    except MusicgenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("error: out of memory", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.strerror or exc}{': ' + str(exc.filename) if exc.filename else ''}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
