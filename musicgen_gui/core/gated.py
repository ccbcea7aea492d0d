"""Generation with a seed-conditioned model: the net, told what the seed is and what
its memory offers at each step, decides what comes next (conditioning.py).

Follow maps onto the learned gate: a bias on the candidates' logits, towards the
memory as the slider goes up; at 0 ("wander") the memory offers nothing and the
net goes on from the seed's summary alone. The slider's middle is not the gate as
trained (bias 0): trained on true contexts, the gate trusts the memory less than
it should once it matches what the model itself played, and the continuation
went soft and static there; FOLLOW_OFFSET was chosen on the tune half of the
out-of-domain sets (docs/EVALUATION.md).
"""

from __future__ import annotations

import numpy as np

from .analysis import Beat
from .bundle import ModelBundle
from .conditioning import CONTEXT_FRAMES, CandidateSearch, context_bands, memory_frames, seed_summary
from .memory import MIN_MEMORY_SECONDS
from .predictor import ConditionedPredictor

FOLLOW_GAIN = 2.0  # gate bias per unit of logit(follow)
FOLLOW_OFFSET = 3.5  # the bias at the slider's middle
MAX_FOLLOW_BIAS = 8.0
# With variation, the candidates are drawn from this many times as many of the nearest places
# (kNN-LM's sampling among neighbours), each within PHASE_FRAMES of the next frame's beat phase.
POOL = 3
PHASE_FRAMES = 1.0


def follow_bias(follow: float) -> float | None:
    """The bias on the candidates' gate logits for a Follow setting; None: no candidates."""
    if follow <= 0:
        return None
    f = min(max(follow, 1e-4), 1 - 1e-4)
    return float(np.clip(FOLLOW_OFFSET + FOLLOW_GAIN * np.log(f / (1 - f)), -MAX_FOLLOW_BIAS, MAX_FOLLOW_BIAS))


class GatedGenerator:
    """Next frames from a seed-conditioned bundle, for a seed's log-power frames.

    Feed it the frame played (normalised) and the log bands of the last CONTEXT_FRAMES
    frames played; it gives the next frame (normalised). ``has_memory``: whether the seed
    is long enough for candidates.
    """

    def __init__(self, bundle: ModelBundle, seed_log_frames: np.ndarray, int8: bool = False,
                 beat: Beat | None = None, rng: np.random.Generator | None = None, music_end: int | None = None):
        cfg, arch = bundle.features, bundle.architecture
        n = len(seed_log_frames)
        # music_end: where the seed's music ends, before a pause it ends in (memory.before_final_pause).
        # The memory, the summary and the warm-up draw on the music: on the pause, the nearest
        # contexts to silence are silence, and the continuation stayed silent.
        end = n if music_end is None else music_end
        seed_log_frames = np.asarray(seed_log_frames, np.float32)[:end][-memory_frames(cfg):]
        # Where each place of the memory falls on the seed's beat grid, and where the next frame
        # played falls (the grid goes on past the seed's end, through a final pause).
        self._beat, self._rng = beat, rng
        if beat is not None:
            places = np.arange(end - len(seed_log_frames), end)
            self._place_phase = (places - beat.first_frame) % beat.period_frames
            self._next = n + 1  # step() is first fed frame n (the first after the seed) and predicts n + 1
        self.frames = bundle.normaliser.normalise(seed_log_frames)
        self.predictor = ConditionedPredictor(bundle, seed_summary(self.frames), int8)
        self.int8 = self.predictor.int8
        self.bands = context_bands(seed_log_frames, cfg)
        self.has_memory = len(self.frames) >= MIN_MEMORY_SECONDS * cfg.frames_per_second
        self._search = CandidateSearch(self.bands, arch.candidates) if self.has_memory else None
        self._length = bundle.training.sequence_length
        self.last_weights: np.ndarray | None = None  # the gate's last weights, for diagnostics

    def warm(self, follow: float) -> np.ndarray:
        """Runs the net over the seed's last window (from a zero state, as in training) and
        returns its prediction of the first frame after the seed.

        Over that window the memory offers what lies before it, as a seed lies before a
        training window; the prediction after it draws on the whole seed."""
        self.predictor.reset()
        n = len(self.frames)
        start = max(CONTEXT_FRAMES - 1, n - self._length)
        before = self.bands[:start]
        search = CandidateSearch(before, self._search.k) if self._search and len(before) > 4 * CONTEXT_FRAMES \
            else None
        for t in range(start, n - 1):
            self._step(self.frames[t], self.bands[t - CONTEXT_FRAMES + 1:t + 1], follow, search)
        return self._step(self.frames[n - 1], self.bands[n - CONTEXT_FRAMES:], follow, self._search)

    def step(self, frame: np.ndarray, recent_bands: np.ndarray, follow: float, vary: bool = True) -> np.ndarray:
        """The next frame. Where the seed has a beat grid, only places on the next frame's beat
        phase are offered (at any phase the beat was lost); vary: the candidates are drawn at
        random among the POOL x k nearest (the nearest always walk the seed in order: a loop)."""
        if self._beat is None:
            allowed = None
        else:
            phase = (self._next - self._beat.first_frame) % self._beat.period_frames
            gap = np.abs(self._place_phase - phase)
            allowed = np.minimum(gap, self._beat.period_frames - gap) <= PHASE_FRAMES
            self._next += 1
        return self._step(frame, recent_bands, follow, self._search, allowed, vary)

    def _step(self, frame, recent_bands, follow, search, allowed=None, vary=False) -> np.ndarray:
        bias = follow_bias(follow)
        if search is None or bias is None:
            mixed, _, self.last_weights = self.predictor.step(frame, None, None)
            return mixed
        context = np.asarray(recent_bands[-CONTEXT_FRAMES:])[None]
        if vary and self._rng is not None:
            places, distances = search.nearest(context, allowed, POOL * search.k)
            pick = np.sort(self._rng.choice(places.shape[1], min(search.k, places.shape[1]), replace=False))
            places, distances = places[:, pick], distances[:, pick]
        else:
            places, distances = search.nearest(context, allowed)
        # Every search covers the start of the memory, so its places index self.frames.
        mixed, _, self.last_weights = self.predictor.step(frame, self.frames[places[0]], distances[0], bias)
        return mixed
