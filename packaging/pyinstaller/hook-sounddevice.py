"""PyInstaller hook for sounddevice: put the system's PortAudio into the bundle.

sounddevice's Linux wheel carries no PortAudio; it loads the system's
libportaudio.so.2. Copying it into the bundle (PyInstaller adds what it links,
such as libasound and libjack) lets the app play and record on machines without
PortAudio installed. rthook_portaudio.py makes sounddevice load this copy.
"""

import ctypes.util

from PyInstaller.depend.bindepend import resolve_library_path

soname = ctypes.util.find_library("portaudio")
path = resolve_library_path(soname) if soname else None
if path is None:
    raise SystemExit("error: PortAudio is not installed here, so it cannot be bundled "
                     "(apt-get install libportaudio2)")
binaries = [(path, ".")]
