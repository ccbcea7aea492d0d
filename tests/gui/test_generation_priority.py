"""Generation's thread is ahead of other programs for the CPU where the user may allow it."""

import os
import threading

import pytest
from gui_driver import load

from musicgen_gui.gui.generation import WORKER_NICE, GenerationWorker


@pytest.mark.skipif(os.geteuid() != 0, reason="a lower nice value needs privileges (root, or RLIMIT_NICE)")
def test_a_generation_worker_runs_at_a_better_nice_value_and_leaves_the_others_alone(qtbot, window, chord_file,
                                                                                    monkeypatch):
    c = window.controller
    assert load(qtbot, window, chord_file)
    gui_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())  # 0, or what the app was started at
    seen = {}
    original = GenerationWorker.run

    def run(self):
        original(self)  # the priority is set as run() starts and kept to its end
        seen[threading.get_native_id()] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    monkeypatch.setattr(GenerationWorker, "run", run)
    window.panel.seconds.setValue(1.0)
    window.continue_action.trigger()
    qtbot.waitUntil(lambda: not c.run.generation.running and bool(seen), timeout=30000)
    assert set(seen.values()) == {WORKER_NICE}
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == gui_nice  # the GUI thread's is untouched
