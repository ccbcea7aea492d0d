"""A streaming soak: one continuation streamed through the app's player to a PulseAudio
null sink for --minutes, while other processes keep cores busy.

    python benchmarks/soak.py [--minutes 10] [--model piano] [--hogs 1] [--stops 20] [--json FILE]

It reports, as it goes and at the end:

* underruns (the ring ran dry while playing; target 0) and device underflows;
* the RSS of this process (the app's side: model, session, producer) and of the
  audio process, every --every seconds (target: flat);
* whether the sink played what was generated: its monitor is recorded the whole
  time, aligned to the generated audio by cross-correlation, and compared a
  second at a time (correlation and level; a jump in the lag from one second to
  the next is a gap in what was heard, such as a device underflow leaves);
* how soon a stop ends generation (the producer thread joined) and silences the
  output, over --stops trials made after the soak, with the hogs still running.

The machine may be shared: the load average is recorded with every sample.
"""

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the sound-server fixture
from virtual_sound import VirtualSoundServer, available  # noqa: E402

from musicgen_gui.audio.devices import OUTPUT, find_device  # noqa: E402
from musicgen_gui.audio.player import Player  # noqa: E402
from bench import chord_music, proc_status_mb  # noqa: E402
from musicgen_gui.core.audio_io import write_wav  # noqa: E402
from musicgen_gui.core.bundle import DEFAULT_MODEL, load_bundle  # noqa: E402
from musicgen_gui.core.fileio import atomic_file  # noqa: E402
from musicgen_gui.core.session import ContinuationParams, ContinuationSession  # noqa: E402

SEED_SECONDS = 10.0
LEAD_IN_SECONDS = 2.0  # the end of the seed is played first, as the app does
WINDOW_SECONDS = 1.0  # the comparison's window
MAX_GAP_SECONDS = 5.0  # the longest gap between two windows that compare() follows
LOWPASS_HZ = 3000.0  # the server resamples 22.05 -> 44.1 -> 22.05 kHz at low quality: compare below this


def stream(player: Player, session: ContinuationSession, lead: np.ndarray, sink=None) -> tuple:
    """Play ``lead`` and then the session's blocks from a producer thread, as the app's worker does."""
    playback = player.play(session.sample_rate)

    def produce():
        cancelled = lambda: session.cancelled  # noqa: E731
        try:
            for part in itertools.chain([lead], (block.samples for block in session.blocks())):
                if sink is not None:
                    sink.write(np.asarray(part, np.float32).tobytes())
                if not playback.write(part, cancelled):
                    return
        finally:
            playback.finish(cancelled)

    thread = threading.Thread(target=produce, name="soak-producer")
    thread.start()
    return playback, thread


def soak(server, player, bundle, seed, seconds: float, every: float, wav_folder: str | None) -> dict:
    rate = bundle.features.sample_rate
    session = ContinuationSession(bundle, seed, ContinuationParams(seconds, 0.5, 0))
    lead = session.seed[-int(LEAD_IN_SECONDS * rate):]
    samples = []
    with tempfile.TemporaryDirectory(prefix="musicgen-soak-") as tmp:
        generated_path = Path(tmp) / "generated.f32"
        monitor = server.record_speaker(rate)
        started = time.monotonic()
        with open(generated_path, "wb") as sink:  # on disk, so that it does not count in the RSS
            playback, thread = stream(player, session, lead, sink)
            next_sample = 0.0
            while not playback.finished:
                elapsed = time.monotonic() - started
                if elapsed >= next_sample:
                    samples.append({"t_s": round(elapsed, 1), "rss_app_mb": round(proc_status_mb("VmRSS"), 1),
                                    "rss_audio_mb": round(proc_status_mb("VmRSS", player.pid), 1),
                                    "played_s": round(playback.position / rate, 1),
                                    "underruns": playback.underruns, "device_underflows": playback.xruns,
                                    "load_1min": round(os.getloadavg()[0], 2)})
                    print("  " + "  ".join(f"{k} {v}" for k, v in samples[-1].items()), flush=True)
                    next_sample += every
                lost = player.lost_reason()
                if lost:
                    raise SystemExit(f"playback failed during the soak: {lost}")
                time.sleep(0.05)
            thread.join()
        time.sleep(0.2)  # the monitor's own latency
        heard = monitor.stop()
        generated = np.fromfile(generated_path, np.float32)
    if wav_folder:
        Path(wav_folder).mkdir(parents=True, exist_ok=True)
        for name, audio in (("generated", generated), ("heard", heard)):
            write_wav(Path(wav_folder) / f"soak-{name}.wav", audio, rate)
    return {"seconds": seconds, "lead_in_seconds": LEAD_IN_SECONDS, "wall_seconds": time.monotonic() - started,
            "underruns": playback.underruns, "device_underflows": playback.xruns, "samples": samples,
            "rss_app_mb": _growth([s["rss_app_mb"] for s in samples]),
            "rss_audio_mb": _growth([s["rss_audio_mb"] for s in samples]),
            "match": compare(heard, generated, rate)}


def _growth(values: list[float]) -> dict:
    """First, last and peak, and the growth after the first minute's warm-up (allocator, caches)."""
    settled = values[min(len(values) - 1, 6):]
    return {"first": values[0], "last": values[-1], "peak": max(values),
            "growth_after_warmup": round(settled[-1] - settled[0], 1)}


def lowpass(x: np.ndarray, rate: int, taps: int = 101) -> np.ndarray:
    n = np.arange(taps) - taps // 2
    kernel = np.sinc(2 * LOWPASS_HZ / rate * n) * np.hamming(taps)
    return np.convolve(x, kernel / kernel.sum(), mode="same").astype(np.float32)


def best_lag(haystack: np.ndarray, needle: np.ndarray) -> tuple[int, float]:
    """(lag, normalised correlation) of ``needle`` in ``haystack``, by FFT cross-correlation."""
    n = len(haystack) + len(needle)
    corr = np.fft.irfft(np.fft.rfft(haystack, n) * np.conj(np.fft.rfft(needle, n)), n)[:len(haystack) - len(needle) + 1]
    lag = int(np.argmax(corr))
    window = haystack[lag:lag + len(needle)]
    return lag, float(np.dot(window, needle) / (np.linalg.norm(window) * np.linalg.norm(needle) + 1e-12))


def compare(heard: np.ndarray, generated: np.ndarray, rate: int) -> dict:
    """Find each second of what was generated in what the sink played.

    A device underflow delays the rest of the stream, so the lag only grows; it is
    followed from one second to the next, and a growth is a gap in what was heard.
    A window only moves the lag if it matched clearly (correlation above 0.5).
    """
    heard, generated = lowpass(heard, rate), lowpass(generated, rate)
    w, slack, longest = int(WINDOW_SECONDS * rate), int(0.05 * rate), int(MAX_GAP_SECONDS * rate)
    lag, _ = best_lag(heard[:int(30 * rate) + w], generated[:w])
    lags, correlations, levels = [], [], []
    for start in range(0, len(generated) - w + 1, w):
        lo = max(0, lag + start - slack)
        found, corr = best_lag(heard[lo:lag + start + w + longest], generated[start:start + w])
        if corr > 0.5 and abs(lo + found - start - lag) > 2:  # the server's resampler alone moves it by a sample
            lag = lo + found - start
        lags.append(lag)
        correlations.append(corr)
        levels.append(20 * np.log10(np.std(heard[lag + start:lag + start + w]) / (np.std(generated[start:start + w])
                                                                                   + 1e-12)))
    gaps = [(i, lags[i + 1] - lags[i]) for i in range(len(lags) - 1) if lags[i + 1] != lags[i]]
    near_gap = {j for i, _ in gaps for j in (i, i + 1)}  # a window a gap falls into matches only in part
    clean = np.array([c for i, c in enumerate(correlations) if i not in near_gap])
    return {"windows": len(correlations), "window_seconds": WINDOW_SECONDS, "lowpass_hz": LOWPASS_HZ,
            "gaps": len(gaps), "gap_ms": round(1000 * sum(g for _, g in gaps) / rate, 1),
            "gap_ms_largest": round(1000 * max((g for _, g in gaps), default=0) / rate, 1),
            "windows_clear_of_gaps": len(clean),
            "correlation_min": round(float(clean.min()), 4) if len(clean) else None,
            "correlation_median": round(float(np.median(clean)), 4) if len(clean) else None,
            "clear_windows_below_0.95": int((clean < 0.95).sum()),
            "level_db_range": [round(float(min(levels)), 2), round(float(max(levels)), 2)],
            "heard_seconds": len(heard) / rate, "generated_seconds": len(generated) / rate}


def stop_trials(player, bundle, seed, trials: int) -> dict:
    """Stop a running continuation, as Esc does: cancel the session and fade the playback out."""
    rate = bundle.features.sample_rate
    rng = np.random.default_rng(1)
    joined, silent = [], []
    for i in range(trials):
        session = ContinuationSession(bundle, seed, ContinuationParams(60.0, 0.5, i))
        playback, thread = stream(player, session, session.seed[-rate // 2:])
        after = rng.uniform(0.5, 2.0)
        while playback.position < after * rate:
            time.sleep(0.005)
        pressed = time.perf_counter()
        session.cancel()
        playback.stop()
        thread.join()
        joined.append(1000 * (time.perf_counter() - pressed))
        while playback.silent_time is None:
            time.sleep(0.005)
        silent.append(1000 * (playback.silent_time - pressed))
    return {"trials": trials, "generation_stopped_ms": _spread(joined), "output_silent_ms": _spread(silent)}


def _spread(values: list[float]) -> dict:
    return {"median": round(float(np.median(values)), 1), "max": round(max(values), 1),
            "min": round(min(values), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the stream (default 10)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"bundled name or model file (default {DEFAULT_MODEL})")
    parser.add_argument("--hogs", type=int, default=1, help="processes that each keep a core busy (default 1)")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between RSS samples (default 10)")
    parser.add_argument("--stops", type=int, default=20, help="stop trials after the soak (default 20)")
    parser.add_argument("--json", metavar="FILE", help="write every figure here")
    parser.add_argument("--wav", metavar="DIR", help="write what was generated and what the sink played here")
    args = parser.parse_args()
    if not available():
        print("error: the soak needs PulseAudio (apt-get install pulseaudio pulseaudio-utils)", file=sys.stderr)
        return 2
    bundle = load_bundle(args.model)
    seed = chord_music(SEED_SECONDS, bundle.features.sample_rate)
    report = {"model": args.model, "hogs": args.hogs, "cpus": os.cpu_count(),
              "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "load_average_start": list(os.getloadavg())}
    server = VirtualSoundServer().start()
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.hogs)]
    player = Player(find_device(OUTPUT))
    try:
        print(f"streaming {args.minutes:g} min of {args.model} with {args.hogs} CPU hog(s) ...", flush=True)
        report["soak"] = soak(server, player, bundle, seed, 60 * args.minutes, args.every, args.wav)
        print(f"{args.stops} stops ...", flush=True)
        report["stops"] = stop_trials(player, bundle, seed, args.stops)
    finally:
        player.close()
        for hog in hogs:
            hog.kill()
            hog.wait()
        server.stop()
    report["load_average_end"] = list(os.getloadavg())
    s, m, st = report["soak"], report["soak"]["match"], report["stops"]
    print(f"underruns {s['underruns']}, device underflows {s['device_underflows']}\n"
          f"RSS app {s['rss_app_mb']}\nRSS audio process {s['rss_audio_mb']}\n"
          f"sink vs generated: {m['windows']} windows of {m['window_seconds']:g} s; {m['gaps']} gaps heard "
          f"({m['gap_ms']} ms in all, the longest {m['gap_ms_largest']} ms); the {m['windows_clear_of_gaps']} windows "
          f"clear of gaps correlate {m['correlation_min']} (min), {m['correlation_median']} (median), "
          f"{m['clear_windows_below_0.95']} below 0.95; level {m['level_db_range']} dB\n"
          f"stop: generation stopped in {st['generation_stopped_ms']} ms, output silent in {st['output_silent_ms']} ms\n"
          f"load average {report['load_average_start']} -> {report['load_average_end']}")
    if args.json:
        with atomic_file(args.json, "w") as f:
            json.dump(report, f, indent=1)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
