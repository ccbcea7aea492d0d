#!/usr/bin/env bash
# Rebuilds the bundled models from nothing: builds the corpora (corpus.py: Debian
# packages and music21's corpus), trains each model on the CPU, and copies it here.
# Hours on a 2-core machine; safe to interrupt and run again (it resumes).
#   bash resources/models/rebuild.sh [piano|electronic|all]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
data=${MUSICGEN_CORPUS:-$HOME/.cache/musicgen-corpus}
work=${MUSICGEN_TRAIN_DIR:-$HOME/.cache/musicgen-train}
epochs=${EPOCHS:-12}
python=$repo/.venv/bin/python
[ -x "$python" ] || { echo "error: run 'bash packaging/setup.sh test' first to create .venv" >&2; exit 1; }
mkdir -p "$work"

for genre in piano electronic; do
  [ "${1:-all}" = all ] || [ "${1:-all}" = "$genre" ] || continue
  "$python" "$here/corpus.py" "$genre" --out "$data"
  note=$("$python" -c 'import json, sys; m = json.load(open(sys.argv[1])); print("; ".join(m["licences"]))' \
    "$data/$genre/manifest.json")
  resume=()
  [ -f "$work/$genre.musicgen.training/state.json" ] && resume=(--resume)
  "$python" -m musicgen_gui.cli train "$data/$genre/train" --validation "$data/$genre/val" \
    -o "$work/$genre.musicgen" --preset default --epochs "$epochs" --checkpoint-every 200 \
    --data-note "musicgen-gui corpus.py '$genre': $note" "${resume[@]}"
  # The timbre anchor measured better on electronic validation seeds and ruined piano
  # ones (docs/EVALUATION.md): recorded in the model, which generation follows.
  anchor_timbre=False
  [ "$genre" = electronic ] && anchor_timbre=True
  "$python" -c 'import sys, dataclasses
from musicgen_gui.core.bundle import load_bundle, save_bundle
b = load_bundle(sys.argv[1])
save_bundle(dataclasses.replace(b, anchor_timbre=sys.argv[3] == "True"), sys.argv[2])' \
    "$work/$genre.musicgen" "$here/$genre.musicgen" "$anchor_timbre"
  echo "bundled $here/$genre.musicgen ($(du -h "$here/$genre.musicgen" | cut -f1))"
done
