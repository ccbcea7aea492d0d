# Runs first in the frozen app. sounddevice finds PortAudio with
# ctypes.util.find_library("portaudio"), which on Linux searches only the
# system: point it at the copy hook-sounddevice.py put in the bundle.
import ctypes.util
import glob
import os
import sys


def _use_bundled_portaudio():
    bundled = sorted(glob.glob(os.path.join(sys._MEIPASS, "libportaudio.so*")))
    if bundled:
        system_find = ctypes.util.find_library
        ctypes.util.find_library = lambda name: bundled[0] if name == "portaudio" else system_find(name)


_use_bundled_portaudio()
del _use_bundled_portaudio
