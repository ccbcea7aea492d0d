"""ablation.py with the MDN head (experiment for issue 17, reverted after): mdn_ablation.py NPZ MODE OFFSET ablation-args...
MODE: mean (the mixture's mean as the net's own frame) | draw (one mode drawn by its weight)."""
import runpy, sys
from pathlib import Path
import numpy as np
from musicgen_gui.core import gated, predictor
from musicgen_gui.core.bundle import load_bundle, save_bundle
from dataclasses import replace

npz_path, MODE = Path(sys.argv.pop(1)), sys.argv.pop(1)
gated.FOLLOW_OFFSET = float(sys.argv.pop(1))
A = dict(np.load(npz_path))
K = A["mix/bias"].shape[0]
RNG = np.random.default_rng(11)
STATS = []
import atexit
atexit.register(lambda: print(f"MDN steps {len(STATS)}: median largest weight {np.median([a for a, _ in STATS]):.2f}, "
                              f"median RMS distance between modes {np.median([b for _, b in STATS]):.2f} (normalised)"))
bundle_path = npz_path.with_suffix(".musicgen")
base = load_bundle(Path.home() / ".cache/musicgen-train/general.musicgen")
w = dict(base.weights)
for key in ("rnn0/kernel", "rnn0/recurrent_kernel", "rnn0/bias", "enc/kernel", "enc/bias", "gate/kernel", "gate/bias"):
    w[key] = A[key]
n = w["out/bias"].shape[0]
w["out/kernel"], w["out/bias"] = A["means/kernel"][:, :n].copy(), A["means/bias"][:n].copy()
save_bundle(replace(base, weights=w, name=npz_path.stem), bundle_path)

def step(self, frame, candidates, distances, bias=0.0):
    x = np.asarray(frame, np.float32)
    n, k = len(x), self.k
    v = self._input[0]
    v[:n] = x
    offered = candidates is not None
    if offered:
        v[n:n + k * self.bands] = ((candidates - x) @ self.pool).reshape(-1)
        v[n + k * self.bands:n + k * self.bands + k] = distances
    else:
        v[n:n + k * self.bands + k] = 0.0
    v[n + k * self.bands + k] = float(offered)
    v[n + k * self.bands + k + 1:] = self.code
    h = self.layer.step(self._input, self.state)[0]
    deltas = (h @ A["means/kernel"] + A["means/bias"]).reshape(K, n)
    ml = h @ A["mix/kernel"] + A["mix/bias"]
    pi = np.exp(ml - ml.max()); pi /= pi.sum()
    STATS.append((pi.max(), np.sqrt(((deltas[:, None] - deltas[None]) ** 2).mean(axis=2)).sum() / (K * (K - 1))))
    own = (x + (pi @ deltas if MODE == "mean" else deltas[RNG.choice(K, p=pi)])).astype(np.float32)
    logits = (self.gate_kernel(h[None]) + self.gate_bias)[0].reshape(k + 1, self.bands)
    if not offered:
        return own, own, np.eye(k + 1, 1).repeat(self.bands, axis=1).astype(np.float32)
    logits[1:] += bias
    logits -= logits.max(axis=0, keepdims=True)
    weights = np.exp(logits); weights /= weights.sum(axis=0, keepdims=True)
    per_bin = weights @ self.expand
    mixed = per_bin[0] * own + (per_bin[1:] * candidates).sum(axis=0)
    return mixed.astype(np.float32), own, weights

predictor.ConditionedPredictor.step = step
sys.argv[0] = "benchmarks/ablation.py"
sys.argv.insert(1, str(bundle_path))
runpy.run_path("benchmarks/ablation.py", run_name="__main__")
