#!/usr/bin/env bash
# Installs the built app folder (the one this script is in) for the current user,
# or under PREFIX: the app in PREFIX/lib/musicgen-gui, the command in PREFIX/bin,
# and the menu entry, AppStream metainfo and icons in PREFIX/share.
#   ./install.sh                 # into ~/.local
#   PREFIX=/opt/musicgen ./install.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prefix=${PREFIX:-$HOME/.local}
[ -x "$here/musicgen-gui" ] || { echo "error: run this from the built app folder (dist/musicgen-gui)" >&2; exit 1; }

mkdir -p "$prefix/lib" "$prefix/bin" "$prefix/share"
rm -rf "$prefix/lib/musicgen-gui"
cp -a "$here" "$prefix/lib/musicgen-gui"
ln -sf "$prefix/lib/musicgen-gui/musicgen-gui" "$prefix/bin/musicgen-gui"
cp -r "$here/share/." "$prefix/share/"
# The menu entry names the command by its full path: ~/.local/bin is not always on PATH.
sed -i "s|^\(Try\)\?Exec=musicgen-gui|\1Exec=$prefix/bin/musicgen-gui|" \
  "$prefix/share/applications/io.github.musicgen_gui.MusicgenGui.desktop"
# Menus and icon caches pick the new files up; both tools are optional.
command -v update-desktop-database >/dev/null && update-desktop-database -q "$prefix/share/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$prefix/share/icons/hicolor" || true
echo "installed in $prefix (the command: $prefix/bin/musicgen-gui)"
