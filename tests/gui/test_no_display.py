"""Started with no display at all: one clear line, not Qt's misleading complaint about xcb-cursor0."""

import os
import subprocess
import sys


def test_with_no_display_the_app_says_so_and_how_to_run_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["HOME"] = str(tmp_path)
    result = subprocess.run([sys.executable, "-m", "musicgen_gui"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: no display: set DISPLAY (or WAYLAND_DISPLAY), or run under xvfb-run "
                                     "(xvfb-run -a musicgen-gui FILE, or xvfb-run -a bash packaging/setup.sh run FILE)")
