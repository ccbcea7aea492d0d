"""PyInstaller hook for PySide6.QtGui: PyInstaller's own, less the Qt plugins the app never loads.

Dropping them here, before PyInstaller follows their library dependencies, also
keeps out what they link: the GTK 3 theme alone brings about 20 MB of GTK, Cairo
and Pango. What stays: the X11, Wayland and offscreen platforms, SVG (the app's
icon), input methods and the desktop-portal theme (native file dialogs).
"""

from PyInstaller.utils.hooks.qt import add_qt6_dependencies

UNUSED = ("platformthemes/libqgtk3", "platforms/libqeglfs", "platforms/libqlinuxfb", "platforms/libqvnc",
          "platforms/libqvkkhrdisplay", "platforms/libqminimalegl", "egldeviceintegrations/", "generic/")


def wanted(src: str, dest: str) -> bool:
    plugin = f"{dest.rsplit('/', 1)[-1]}/{src.rsplit('/', 1)[-1]}"  # e.g. "platforms/libqxcb.so"
    if plugin.startswith("imageformats/"):
        return plugin == "imageformats/libqsvg.so"
    return not plugin.startswith(UNUSED)


hiddenimports, binaries, datas = add_qt6_dependencies(__file__)
binaries = [(src, dest) for src, dest in binaries if wanted(src, dest)]
