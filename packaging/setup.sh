#!/usr/bin/env bash
# Sets up everything musicgen-gui needs on Debian/Ubuntu, then runs the app
# (`setup.sh run [FILE]`), the test suite (`setup.sh test [PYTEST ARGS]`) or
# builds the desktop bundle (`setup.sh build`, packaging/build.sh).
# As root it installs the missing system packages itself; otherwise it prints
# the exact apt-get line and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}
shift || true

# Run time: PortAudio, and the X11/xcb libraries Qt's xcb plugin loads.
apt_run="libportaudio2 libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0 libxcb-image0
  libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libegl1 libgl1 libfontconfig1 libdbus-1-3"
# Tests: a PulseAudio server with null sinks stands in for a sound card; Xvfb for a screen;
# the freedesktop validators check packaging/desktop/.
apt_test="pulseaudio pulseaudio-utils libasound2-plugins xvfb appstream desktop-file-utils"
case "$mode" in
  run) wanted="$apt_run" ;;
  build) wanted="$apt_run binutils" ;;  # PyInstaller reads binaries with objdump
  test) wanted="$apt_run $apt_test" ;;
  *) echo "usage: $0 run [FILE] | test [PYTEST ARGS] | build" >&2; exit 2 ;;
esac
python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "error: Python 3.11 or newer is needed ($python is $("$python" --version 2>&1))" >&2; exit 1; }
"$python" -c 'import ensurepip, venv' 2>/dev/null || wanted="$wanted python3-venv"

missing=""
for pkg in $wanted; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing system packages:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "error: missing system packages. Run:" >&2
    echo "  sudo apt-get install -y$missing" >&2
    exit 1
  fi
fi

# The venv is rebuilt only when pyproject.toml changes.
venv=.venv
stamp="$venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)-${mode/build/run}"  # build needs what run does
if [ ! -f "$stamp" ]; then
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  if [ "$mode" = test ]; then extras="train,test"; else extras="train"; fi
  "$venv/bin/python" -m pip install -q -e ".[$extras]"
  rm -f "$venv"/.installed-*
  touch "$stamp"
  [ "$mode" = test ] && touch "${stamp%-test}-run"
fi

if [ "$mode" = run ]; then
  exec "$venv/bin/musicgen-gui" "$@"
fi
[ "$mode" = build ] && exec bash packaging/build.sh
exec "$venv/bin/python" -m pytest -m "" "$@"  # every tier (pyproject.toml leaves the slow tests out by default); "$@" may narrow it
