"""What the app is doing, and the one table of what can be done in each mode.

Each command lists the modes it runs in and the facts it needs; the controller
says which facts hold, and the window enables its actions from ``enabled()``.
"""

from __future__ import annotations

from enum import Enum


class Mode(Enum):
    IDLE = "idle"
    RECORDING = "recording"
    PLAYING = "playing"  # the seed or a take, no generation
    STREAMING = "streaming"  # generating, and playing it as it comes


IDLE, RECORDING, PLAYING, STREAMING = Mode.IDLE, Mode.RECORDING, Mode.PLAYING, Mode.STREAMING

# Facts the controller reports.
SEED, SEED_LONG_ENOUGH, MODEL, MODEL_SETTLED, TAKE, TWO_TAKES, DELETED_TAKE, MICROPHONE, SPEAKERS = (
    "seed", "seed long enough", "model", "no model loading", "take", "two takes", "a deleted take", "microphone",
    "speakers")

# command: (modes it is enabled in, facts it needs)
TABLE: dict[str, tuple[frozenset[Mode], frozenset[str]]] = {
    name: (frozenset(modes), frozenset(needs)) for name, modes, needs in [
        ("open", {IDLE}, ()),
        ("record", {IDLE, RECORDING}, {MICROPHONE}),
        ("play_seed", {IDLE, PLAYING}, {SEED, SPEAKERS}),
        ("continue", {IDLE}, {SEED, SEED_LONG_ENOUGH, MODEL}),
        ("stop", {RECORDING, PLAYING, STREAMING}, ()),
        ("extend", {IDLE}, {TAKE, MODEL}),
        ("regenerate", {IDLE}, {TAKE, MODEL}),
        ("export", {IDLE, PLAYING}, {TAKE}),
        ("play_take", {IDLE, PLAYING}, {TAKE, SPEAKERS}),
        ("compare", {IDLE, PLAYING}, {TWO_TAKES, SPEAKERS}),
        ("delete_take", {IDLE}, {TAKE}),
        ("undo_delete", {IDLE}, {DELETED_TAKE}),
        ("choose_model", {IDLE}, {MODEL_SETTLED}),
        ("choose_devices", {IDLE}, ()),
    ]
}


def enabled(command: str, mode: Mode, facts: set[str]) -> bool:
    modes, needs = TABLE[command]
    return mode in modes and needs <= facts
