"""Experiment for issue 17 (reverted after): the seed-conditioned net's own frame as a mixture of K Gaussians (an MDN
head), so that generation can draw one mode instead of playing the average of the futures.
Fine-tuned from `general` (rnn, encoder, gate loaded; the K means start at its out layer).

    python mdn_train.py OUT_DIR EPOCHS [K]
"""
import json, sys, time
from pathlib import Path
import numpy as np
from musicgen_gui.core import seed_training as st
from musicgen_gui.core.bundle import load_bundle
from musicgen_gui.core.conditioning import context_bands, gate_pooling
from musicgen_gui.core.features import FeatureConfig
from musicgen_gui.core.model import Architecture, import_keras
from musicgen_gui.core.training import read_state, reopen_run

out_dir = Path(sys.argv[1]); out_dir.mkdir(exist_ok=True)
EPOCHS = int(sys.argv[2]); K = int(sys.argv[3]) if len(sys.argv) > 3 else 4
SRC = Path.home() / ".cache/musicgen-train/general.musicgen"
state = read_state(SRC.with_name(SRC.name + ".training") / "state.json")
cfg = FeatureConfig(**state["features"]); arch = Architecture.from_dict(state["architecture"])
base = load_bundle(SRC)
corpus, norm, train_idx, val_idx = reopen_run(state, cfg, lambda p: None)

def batches_of(indices):
    frames = [corpus.frames[i] for i in indices]
    spans = np.cumsum([0] + [len(f) for f in frames])
    data = np.concatenate(frames); bands = context_bands(data, cfg)
    data -= norm.mean; data /= norm.std
    return st.WindowBatches(data, bands, list(zip(spans[:-1].tolist(), spans[1:].tolist())), arch, 50,
                            cfg.frames_per_second)
train_data, val_data = batches_of(train_idx), batches_of(val_idx)
corpus.frames.clear()

keras = import_keras()
from keras import ops
keras.utils.set_random_seed(1)
pool, expand = gate_pooling(cfg, arch.gate_bands)
n, k, B = cfg.n_bins, arch.candidates, arch.gate_bands
frames = keras.Input(shape=(None, n), name="frames")
candidates = keras.Input(shape=(None, k, n), name="candidates")
distances = keras.Input(shape=(None, k), name="distances")
offered = keras.Input(shape=(None, 1), name="offered")
summary = keras.Input(shape=(2 * n,), name="summary")

class Inputs(keras.layers.Layer):
    def call(self, x, candidates, distances, offered, code):
        difference = ops.matmul(candidates - x[:, :, None, :], pool) * offered[..., None]
        s = ops.shape(difference)
        difference = ops.reshape(difference, (s[0], s[1], -1))
        code = ops.broadcast_to(code[:, None, :], (s[0], s[1], ops.shape(code)[-1]))
        return ops.concatenate([x, difference, distances * offered, offered, code], axis=-1)

    def compute_output_shape(self, x_shape, candidates_shape, distances_shape, offered_shape, code_shape):
        return (*x_shape[:2], arch.conditioned_inputs(n))

class Head(keras.layers.Layer):
    """MDN: means (x + delta_j), log sigma per band, mixture logits -> packed, and the mixture mean."""
    def call(self, x, deltas, logsig, mlogits):
        s = ops.shape(deltas)
        means = x[:, :, None, :] + ops.reshape(deltas, (s[0], s[1], K, n))
        pi = ops.softmax(mlogits, axis=-1)
        mean = ops.sum(pi[..., None] * means, axis=2)
        return mean, ops.concatenate([ops.reshape(means, (s[0], s[1], K * n)), logsig, mlogits], axis=-1)

    def compute_output_shape(self, x_shape, deltas_shape, logsig_shape, mlogits_shape):
        return x_shape, (*x_shape[:2], K * n + K * B + K)

class Gate(keras.layers.Layer):
    def call(self, logits, own, candidates, offered):
        s = ops.shape(logits)
        logits = ops.reshape(logits, (s[0], s[1], k + 1, -1))
        closed = ops.concatenate([ops.zeros_like(offered), (offered - 1.0) * ops.ones((1, 1, k))], axis=-1)
        w = ops.matmul(ops.softmax(logits + 1e4 * closed[..., None], axis=2), expand)
        return ops.sum(w * ops.concatenate([own[:, :, None, :], candidates], axis=2), axis=2)

    def compute_output_shape(self, logits_shape, own_shape, candidates_shape, offered_shape):
        return own_shape

x = keras.layers.GaussianNoise(arch.input_noise, name="input_noise")(frames)
code = keras.layers.Dense(arch.summary_units, activation="tanh", name="enc")(summary)
h = Inputs(name="inputs")(x, candidates, distances, offered, code)
h = keras.layers.LSTM(arch.units[0], return_sequences=True, name="rnn0")(h)
deltas = keras.layers.Dense(K * n, name="means")(h)
logsig = keras.layers.Dense(K * B, name="logsig")(h)
mlogits = keras.layers.Dense(K, name="mix")(h)
mean, packed = Head(name="head")(x, deltas, logsig, mlogits)
glogits = keras.layers.Dense((k + 1) * B, name="gate")(h)
mixed = Gate(name="mixed")(glogits, mean, candidates, offered)
model = keras.Model([frames, candidates, distances, offered, summary], [mixed, packed])

def nll(y_true, y_pred):
    """Per-bin negative log likelihood of the true frame under the mixture (log sigma per band)."""
    s = ops.shape(y_pred)
    means = ops.reshape(y_pred[..., :K * n], (s[0], s[1], K, n))
    logsig = ops.reshape(y_pred[..., K * n:K * n + K * B], (s[0], s[1], K, B))
    logsig = ops.clip(logsig, -3.0, 2.0)
    mlog = ops.log_softmax(y_pred[..., K * n + K * B:], axis=-1)
    ls = ops.matmul(logsig, expand)  # bands -> bins
    z = (y_true[:, :, None, :] - means) * ops.exp(-ls)
    comp = -ops.sum(0.5 * z * z + ls, axis=-1)  # (b, t, K)
    return -ops.logsumexp(mlog + comp, axis=-1) / n

w = base.weights
for name in ("enc", "gate"):
    model.get_layer(name).set_weights([w[f"{name}/kernel"], w[f"{name}/bias"]])
model.get_layer("rnn0").set_weights([w["rnn0/kernel"], w["rnn0/recurrent_kernel"], w["rnn0/bias"]])
rng = np.random.default_rng(3)
ok = w["out/kernel"]
model.get_layer("means").set_weights([
    np.concatenate([ok + rng.normal(0, 0.3 * ok.std(), ok.shape).astype(np.float32) for _ in range(K)], axis=1),
    np.tile(w["out/bias"], K)])
model.get_layer("logsig").set_weights([np.zeros((arch.units[0], K * B), np.float32),
                                       np.full(K * B, np.log(0.5), np.float32)])
opt = keras.optimizers.Adam(5e-4, clipnorm=1.0)
model.compile(optimizer=opt, loss=["mse", nll], loss_weights=[1.0, 0.5])

def save(tag):
    arrays = {}
    for name in ("enc", "gate", "means", "logsig", "mix"):
        kk, bb = model.get_layer(name).get_weights(); arrays[f"{name}/kernel"] = kk; arrays[f"{name}/bias"] = bb
    arrays.update(dict(zip(("rnn0/kernel", "rnn0/recurrent_kernel", "rnn0/bias"), model.get_layer("rnn0").get_weights())))
    np.savez(out_dir / f"mdn-{tag}.npz", **arrays)

val_starts = val_data.starts(np.random.default_rng(0))[:40 * 32]
def val():
    ls = [model.test_on_batch(*val_data.batch(val_starts[i:i + 32], np.random.default_rng([0, i])))
          for i in range(0, len(val_starts) - 31, 32)]
    return np.mean(np.asarray(ls), axis=0).tolist()
print("start val", val(), flush=True)
per_epoch = (len(train_data.starts(None)) - len(train_data.spans)) // 32
for epoch in range(EPOCHS):
    r = np.random.default_rng([7, epoch])
    starts = train_data.starts(r)[:per_epoch * 32].reshape(per_epoch, 32)
    t0, losses = time.time(), []
    for b in range(per_epoch):
        inputs, (target, _) = train_data.batch(starts[b], np.random.default_rng([7, epoch, b]))
        losses.append(model.train_on_batch(inputs, (target, target)))
        if b % 50 == 0:
            print(epoch, b, per_epoch, np.mean(losses[-50:], axis=0).round(4).tolist(), f"{time.time()-t0:.0f}s", flush=True)
        if b % 300 == 299:
            save(f"e{epoch+1}-b{b+1}")
    save(f"e{epoch+1}")
    print("epoch", epoch + 1, "val", val(), flush=True)
