#!/usr/bin/env bash
# Builds the one-folder desktop app with PyInstaller into dist/musicgen-gui/ and
# prints its size and the build time. Run through `bash packaging/setup.sh build`,
# which sets up .venv first. The folder also holds share/ (the .desktop file,
# AppStream metainfo and icons) and install.sh, so it can be copied or tarred as is.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
[ -x "$venv/bin/python" ] || { echo "error: no $venv; run: bash packaging/setup.sh build" >&2; exit 1; }
"$venv/bin/python" -c 'import PyInstaller' 2>/dev/null || "$venv/bin/python" -m pip install -q "pyinstaller>=6.10,<7"

app_id=io.github.musicgen_gui.MusicgenGui
dist=dist/musicgen-gui
started=$(date +%s)
"$venv/bin/python" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/musicgen-gui.spec

share="$dist/share"
QT_QPA_PLATFORM=offscreen "$venv/bin/python" packaging/render_icons.py "$share/icons" >/dev/null
install -D -m 644 "packaging/desktop/$app_id.desktop" "$share/applications/$app_id.desktop"
install -D -m 644 "packaging/desktop/$app_id.metainfo.xml" "$share/metainfo/$app_id.metainfo.xml"
install -m 755 packaging/install.sh "$dist/install.sh"
seconds=$(( $(date +%s) - started ))

echo "built $dist in $((seconds / 60)) min $((seconds % 60)) s: $(du -sh "$dist" | cut -f1)" \
  "($(find "$dist" -type f | wc -l) files; the models are $(du -ch resources/models/*.musicgen | tail -1 | cut -f1))"
echo "run it: $dist/musicgen-gui; install it for this user: $dist/install.sh;" \
  "smoke test: bash packaging/setup.sh test tests/test_frozen_app.py"
