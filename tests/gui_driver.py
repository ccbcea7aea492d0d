"""Driving the window as a user would, through its actions and real clicks, waiting on the controller's state,
and checking what the views show."""

import contextlib
import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt

from musicgen_gui.gui.mode import IDLE, STREAMING

RATE = 22050
N_FFT, HOP = 1024, 512


def load(qtbot, window, path) -> bool:
    """Load ``path`` as the seed and wait: True if it became the seed."""
    c = window.controller
    before = c.seed.clip
    assert c.seed.load(path)
    qtbot.waitUntil(lambda: not c.busy, timeout=20000)
    return c.seed.clip is not before and c.seed.clip is not None and c.seed.clip.path == str(path)


@contextlib.contextmanager
def spectrogram_held(monkeypatch, module):
    """The spectrogram's background job (``module.log_power``) waits until the block ends."""
    release = threading.Event()
    real = module.log_power

    def held(samples, cfg):
        release.wait(30)
        return real(samples, cfg)

    monkeypatch.setattr(module, "log_power", held)
    try:
        yield
    finally:
        release.set()


def run_to_end(qtbot, window, action=None, timeout=30000):
    """Trigger Continue (or ``action``) and wait for the take to end; returns the take."""
    c = window.controller
    (action or window.continue_action).trigger()
    assert c.mode == STREAMING
    qtbot.waitUntil(lambda: c.mode == IDLE and not c.run.generation.running, timeout=timeout)
    qtbot.waitUntil(lambda: not c.busy)  # the take's analysis
    return c.takes.current


def click_take(qtbot, window, take):
    view = window.takes.view
    index = window.takes.index_of(take)
    view.scrollTo(index)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(index).center())


def assert_shows(window, take):
    """Both views show the take whole, its seed from 0 s and its continuation after the seam, on one axis."""
    x, y = window.waveform.shown()
    audio = np.concatenate([take.seed, take.continuation()])
    assert len(x) == len(audio) and np.array_equal(y, audio)
    assert abs(x[len(take.seed)] - len(take.seed) / RATE) < 1e-9
    spectrogram = window.spectrogram
    first = (N_FFT - HOP) / 2 / RATE  # the frames of the take's own audio: the first one's left edge
    assert spectrogram.start_time == pytest.approx(first)
    assert spectrogram.end_time == pytest.approx(first + ((len(audio) - N_FFT) // HOP + 1) * HOP / RATE)
    assert window.view_tabs.currentIndex() == 1 and window.view_tabs.tabText(1) == take.name
    assert take.name in window.waveform.plotItem.titleLabel.text
    assert window.waveform.viewRange()[0] == pytest.approx(window.spectrogram.viewRange()[0])
