"""Driving the window as a user would, through its actions, and waiting on the controller's state."""

from musicgen_gui.gui.mode import IDLE, STREAMING


def load(qtbot, window, path) -> bool:
    """Load ``path`` as the seed and wait: True if it became the seed."""
    c = window.controller
    before = c.seed.clip
    assert c.seed.load(path)
    qtbot.waitUntil(lambda: not c.busy, timeout=20000)
    return c.seed.clip is not before and c.seed.clip is not None and c.seed.clip.path == str(path)


def run_to_end(qtbot, window, action=None, timeout=30000):
    """Trigger Continue (or ``action``) and wait for the take to end; returns the take."""
    c = window.controller
    (action or window.continue_action).trigger()
    assert c.mode == STREAMING
    qtbot.waitUntil(lambda: c.mode == IDLE and not c.run.generation.running, timeout=timeout)
    qtbot.waitUntil(lambda: not c.busy)  # the take's analysis
    return c.takes.current
