#!/usr/bin/env python3
"""Build the training corpora for the bundled models.

    python resources/models/corpus.py {piano,electronic,all} [--out DIR]

piano:      music21's solo-piano works and Bach chorales, written to MIDI on an
            acoustic grand and rendered with FluidSynth + FluidR3_GM.
electronic: the Debian packages nexuiz-music and warzone2100-music.
varied:     for the seed-conditioned model, more soundtracks (supertux-data,
            hedgewars-data, freedroidrpg-data, lincity-ng-data) and Bach chorales
            on other General MIDI instruments (FluidR3_GM).

Every track becomes mono 16-bit FLAC at 22050 Hz in OUT/<genre>/train or
OUT/<genre>/val (whole tracks, deterministic split), described by
OUT/<genre>/manifest.json (source, licence, duration, split of each track).
The licence notices of the sources are copied to OUT/<genre>/licences/.
Re-running skips finished tracks; files are written under temporary names and
renamed, so an interrupted run can simply be started again.
"""

import argparse
import io
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

try:
    import numpy as np
    import soundfile as sf
    import soxr
except ImportError as e:
    sys.exit(f"corpus.py: error: Python package {e.name} is missing; install it with: pip install {e.name}")

SR = 22050
SEED = 2100
VAL_FRACTION = 0.10
SILENCE = 10 ** (-60 / 20)  # -60 dBFS: below this a rendered reverb tail is inaudible
PAD = int(0.05 * SR)  # keep 50 ms around the trimmed audio so attacks stay whole
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SOUNDFONT_LICENCE = "MIT"
SOUNDFONT_NOTICE = Path("/usr/share/doc/fluid-soundfont-gm/copyright")

# music21's solo-keyboard works (found by listing music21's corpus). Clara
# Schumann's op. 17 is a piano trio and stays out; Beach's piece is a choir
# with piano, played wholly on the piano like the chorales.
PIANO_SOLO = [
    "bach/bwv846.mxl",
    "beach/prayer_of_a_tired_child.musicxml",
    "chopin/mazurka06-2.krn",
    "cpebach/h186.mxl",
    "joplin/maple_leaf_rag.mxl",
    "mozart/k545/movement1_exposition.mxl",
    "schoenberg/opus19/movement2.mxl",
    "schoenberg/opus19/movement6.mxl",
    "schumann_clara/polonaise_op1n1.mxl",
    "schumann_clara/polonaise_op1n2.mxl",
    "schumann_clara/polonaise_op1n3.mxl",
    "schumann_clara/polonaise_op1n4.mxl",
]
MUSIC21_LICENCE = (
    "public-domain composition; encoding from the music21 corpus "
    "(music21 is BSD-3-Clause; corpus terms in music21/corpus/license.txt)"
)

NEXUIZ_SKIP = {"thunder"}  # a 48 s loop of thunder claps, not music


class Track:
    """One output file: where it comes from, under which licence, and how to make it."""

    def __init__(self, name, stratum, group, source, licence, notices, make, **extra):
        self.name, self.stratum, self.group = name, stratum, group
        self.source, self.licence = source, licence
        self.notices = notices  # names of the licence notices copied to OUT/<genre>/licences/
        self.make = make  # () -> mono float32 audio at SR
        self.extra = extra  # rights, title, author: kept for attribution


def fail(msg):
    sys.exit(f"corpus.py: error: {msg}")


def log(msg):
    print(msg, flush=True)


def need_tool(tool, hint):
    if shutil.which(tool) is None:
        fail(f"'{tool}' not found; {hint}")


def trim(x):
    loud = np.flatnonzero(np.abs(x) > SILENCE)
    if loud.size == 0:
        return x[:0]
    return x[max(loud[0] - PAD, 0) : loud[-1] + PAD + 1]


def to_mono(x, sr):
    x = x.mean(axis=1) if x.ndim == 2 else x
    if sr != SR:
        x = soxr.resample(x, sr, SR)
    return x.astype(np.float32)


# --------------------------------------------------------------------- piano


def piano_tracks(tmp):
    try:
        import music21
        from music21 import corpus
    except ImportError:
        fail("music21 is missing; install it with: pip install music21")
    need_tool("fluidsynth", "install it with: apt-get install fluidsynth")
    if not SOUNDFONT.is_file():
        fail(f"{SOUNDFONT} not found; install it with: apt-get install fluid-soundfont-gm")

    # Each chorale once: some exist as .mxl and as .krn/.xml; keep the .mxl.
    chorales = {}
    for p in sorted(corpus.getComposer("bach"), key=lambda p: (p.suffix != ".mxl", str(p))):
        if p.name.startswith("bwv") and p.suffix in (".mxl", ".xml", ".krn") and p.stem != "bwv846":
            chorales.setdefault(p.stem, f"bach/{p.name}")

    notes_of = score_notes()
    tracks = []
    for stratum, paths in (("solo", PIANO_SOLO), ("chorales", sorted(chorales.values()))):
        for rel in paths:
            stem = rel.rsplit(".", 1)[0]
            # Variants of one chorale (bwv248.64-s, bwv248.64-6) share a group so they share a split.
            group = stem.split("-")[0] if stratum == "chorales" else stem
            tracks.append(Track(
                name=stem.replace("/", "_"), stratum=stratum, group=group,
                source=f"music21 {music21.__version__} corpus: {rel}",
                licence=f"{MUSIC21_LICENCE}; rendered with FluidR3_GM.sf2 ({SOUNDFONT_LICENCE})",
                notices=["music21-corpus-license.txt", "FluidR3_GM-copyright"],
                make=lambda rel=rel: render_piano(rel, tmp),
                **notes_of(rel),
            ))
    return tracks, {"music21-corpus-license.txt": Path(corpus.__file__).parent / "license.txt",
                    "FluidR3_GM-copyright": SOUNDFONT_NOTICE}


def score_notes():
    """rel -> the rights, title and author noted in that music21 corpus score (licence notes in a few).

    Read from music21's metadata cache, without parsing the scores.
    """
    from music21 import corpus

    embedded = {str(e.sourcePath): e.metadata for e in corpus.corpora.CoreCorpus().metadataBundle}

    def notes(rel):
        md = embedded.get(rel)
        return {k: " ".join(str(v).split()) for k, v in
                (("rights", md and md.copyright), ("title", md and md.title), ("author", md and md.composer)) if v}
    return notes


def piano_score(rel, make_instrument=None):
    """The score with every pitched part on make_instrument (default: acoustic grand)."""
    from music21 import bar, corpus, instrument, repeat, spanner, stream

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = corpus.parse(rel)
    # Parts written for transposing instruments (a clarinet in B-flat) are moved to the pitch they
    # sound at, with their key signatures, before their instruments are replaced: the new instrument
    # does not transpose, and would play the written notes a tone off the rest of the score.
    score.toSoundingPitch(inPlace=True)
    for part in list(score.parts):
        insts = list(part.recurse().getElementsByClass(instrument.Instrument))
        if any(isinstance(i, instrument.Percussion) for i in insts):
            score.remove(part)  # timpani rolls on a piano are noise, not music
            continue
        for inst in insts:
            inst.activeSite.remove(inst)
        part.insert(0, (make_instrument or instrument.Piano)())  # Piano: program 0, acoustic grand
    try:
        score.expandRepeats()  # the MIDI writer expands repeats and fails on bad ones
    except repeat.ExpanderException:
        log(f"  {rel}: badly formed repeats, playing them once")
        for m in score.recurse().getElementsByClass(stream.Measure):
            if isinstance(m.leftBarline, bar.Repeat):
                m.leftBarline = None
            if isinstance(m.rightBarline, bar.Repeat):
                m.rightBarline = None
        marks = score.recurse().getElementsByClass((repeat.RepeatExpression, spanner.RepeatBracket))
        for mark in list(marks):
            mark.activeSite.remove(mark)
    return score


RENDER_LIMIT_S = 600  # far longer than any score in the corpora takes


def render_piano(rel, tmp):
    return render_score(piano_score(rel), rel, tmp)


def render_score(score, rel, tmp, soundfont=SOUNDFONT, with_midi=False, timeout=None):
    """The score played by FluidSynth (mono at SR); with_midi: also the music21 MidiFile it played.
    timeout: seconds FluidSynth may take (subprocess.TimeoutExpired past it, for a caller that leaves
    such a score out); without one, RENDER_LIMIT_S, past which the build stops with a message."""
    from music21 import midi

    mid, wav = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
    mf = midi.translate.streamToMidiFile(score)
    mf.open(str(mid), "wb")
    mf.write()
    mf.close()
    cmd = ["fluidsynth", "-ni", "-g", "0.8", "-r", str(SR), "-F", str(wav), str(soundfont), str(mid)]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout or RENDER_LIMIT_S)
    except subprocess.TimeoutExpired:
        if timeout:
            raise
        # A few MIDI files hold a note that never ends, and FluidSynth renders them until the disk fills.
        fail(f"fluidsynth did not finish {rel} in {RENDER_LIMIT_S} s (a note that never ends?)")
    if res.returncode != 0 or not wav.is_file():
        fail(f"fluidsynth failed on {rel}: {(res.stderr or res.stdout).strip().splitlines()[-1:]}")
    x, sr = sf.read(wav, dtype="float32")
    return (to_mono(x, sr), mf) if with_midi else to_mono(x, sr)


# ---------------------------------------------------------------- electronic


def fetch_deb(package, downloads):
    """The package's .deb, kept in OUT/.downloads so re-runs need no network."""
    found = sorted(downloads.glob(f"{package}_*.deb"))
    if found:
        return found[-1]
    need_tool("apt-get", "the electronic corpus needs a Debian-based system")
    downloads.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=downloads) as tmp:
        log(f"apt-get download {package}")
        # As root apt drops to user _apt, who cannot write to a private temp dir.
        res = subprocess.run(["apt-get", "-q", "-o", "APT::Sandbox::User=root", "download", package],
                             cwd=tmp, capture_output=True, text=True)
        debs = list(Path(tmp).glob(f"{package}_*.deb"))
        if res.returncode != 0 or not debs:
            last = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no .deb"]
            fail(f"apt-get download {package} failed ({last[0]}); try: apt-get update")
        return Path(shutil.move(debs[0], downloads / debs[0].name))


def unpack(deb, dest):
    need_tool("dpkg", "the electronic corpus needs a Debian-based system")
    subprocess.run(["dpkg", "-x", str(deb), str(dest)], check=True)
    name, version = deb.name.split("_")[:2]
    return f"{name} {version}"


def expect(path, *phrases):
    """Fail if a licence notice no longer says what the licence table assumes."""
    text = " ".join(Path(path).read_text(errors="replace").split())
    for phrase in phrases:
        if phrase not in text:
            fail(f"{path} no longer contains '{phrase}'; check the licence by hand")


def read_audio(src):
    x, sr = sf.read(src, dtype="float32", always_2d=True)
    return to_mono(x, sr)


def electronic_tracks(tmp, downloads):
    tracks, notices = [], {}

    root = Path(tmp) / "nexuiz"
    pkg = unpack(fetch_deb("nexuiz-music", downloads), root)
    copyright_ = root / "usr/share/doc/nexuiz-music/copyright"
    expect(copyright_, "Nexuiz is © 2002 - 2009 Alientrap", "GNU General Public License",
           "either version 2 of the License, or (at your option) any later version")
    notices["nexuiz-music-copyright"] = copyright_
    pk3 = zipfile.ZipFile(root / "usr/share/games/nexuiz/data/music.pk3")
    for member in sorted(n for n in pk3.namelist() if n.endswith(".ogg")):
        stem = Path(member).stem
        if stem in NEXUIZ_SKIP:
            continue
        tracks.append(Track(
            name=f"nexuiz_{stem.rstrip('_')}", stratum="nexuiz-music",
            group=f"nexuiz:{stem.split('_')[0]}",  # sixtyfour_ and sixtyfour_revisited: one tune
            source=f"{pkg}: usr/share/games/nexuiz/data/music.pk3:{member}",
            licence="GPL-2.0-or-later", notices=["nexuiz-music-copyright"],
            make=lambda m=member: read_audio(io.BytesIO(pk3.read(m))),
            author="Alientrap (Nexuiz)",
        ))

    root = Path(tmp) / "warzone"
    pkg = unpack(fetch_deb("warzone2100-music", downloads), root)
    copyright_ = root / "usr/share/doc/warzone2100-music/copyright"
    expect(copyright_, "Files: * Copyright: 1999-2004, Eidos Interactive 2005-2013, Warzone 2100 Project License: GPL-2+")
    base_notice = "warzone2100-music-copyright"
    notices[base_notice] = copyright_
    music = root / "usr/share/games/warzone2100"
    titles = {}
    for album in sorted((music / "music/albums").glob("*/album.json")):
        for t in json.loads(album.read_text())["tracks"]:
            titles[album.parent.name, t["filename"]] = {"title": t["title"], "author": t["author"]}
        notice = album.parent / "license.txt"
        if notice.is_file():
            # The LupusMechanicus albums: dual-licensed, except the remake of the 1999 track 3.
            expect(notice, "is licensed and available under: CC-BY-SA-3.0 (or, at your discretion, any later version)",
                   "under the terms of the GNU General Public License Version 2 or later")
            notices[f"warzone2100-music-{album.parent.name}-license.txt"] = notice
    for src in sorted(music.rglob("*.opus")):
        album = src.parent.name if src.parent.parent.name == "albums" else ""
        notice = f"warzone2100-music-{album}-license.txt"
        if notice in notices and src.stem != "track3_enhanced":
            licence = "CC-BY-SA-3.0+ OR GPL-2.0-or-later"
        elif notice in notices:
            expect(notices[notice], "track3_enhanced is derived from Martin Severn's original albums/original_soundtrack/"
                   "track3, and is licensed under the terms of the GNU General Public License Version 2 or later")
            licence = "GPL-2.0-or-later"
        else:
            licence, notice = "GPL-2.0-or-later", base_notice  # the 1999 soundtrack, under "Files: *"
        tracks.append(Track(
            name="_".join(filter(None, ("wz2100", album, src.stem))), stratum="warzone2100-music",
            group=f"wz2100:{src.stem.removesuffix('_enhanced')}",  # an "enhanced" remake goes with its original
            source=f"{pkg}: {src.relative_to(root)}",
            licence=licence, notices=[notice],
            make=lambda src=src: read_audio(src),
            **titles.get((album, src.name), {}),
        ))
    return tracks, notices


# -------------------------------------------------------------------- varied

# Soundtracks of games that ood_corpus.py does not draw on: (folder of the music in the package,
# the phrases its copyright file must hold for the licence given, the licence).
SOUNDTRACKS = {
    "supertux-data": ("usr/share/games/supertux2/music",
                      ("Files: data/music/* Copyright: Marek Moeckel <wansti@gmx.de> License: GPL-2+",),
                      "GPL-2.0-or-later"),
    "hedgewars-data": ("usr/share/games/hedgewars/Data/Music",
                       ("Files: * Copyright: 2004-2018 Andrey Korotaev", "2004-2015 Hedgewars Project License: GPL-2 "),
                       "GPL-2.0-only"),
    "freedroidrpg-data": ("usr/share/freedroidrpg/data/sound/music",
                          ("Files: * Copyright: 1994, 2002-2004 Johannes Prix",), "GPL-2.0-or-later"),
    "lincity-ng-data": ("usr/share/games/lincity-ng/music",
                        ("Files: * Copyright: 1995-1997, I J Peters", "License: GPL-2+"), "GPL-2.0-or-later"),
}
# Chorales on other instruments (General MIDI programs): strings, church organ, nylon guitar,
# flute, vibraphone, choir; every CHORALE_STEP-th chorale on each, a different set per program.
CHORALE_PROGRAMS = (48, 19, 24, 73, 11, 52)
CHORALE_STEP = 10


def varied_tracks(tmp, downloads):
    from music21 import instrument

    tracks, notices = [], {}
    for package, (folder, phrases, licence) in SOUNDTRACKS.items():
        root = Path(tmp) / package
        pkg = unpack(fetch_deb(package, downloads), root)
        copyright_ = root / f"usr/share/doc/{package}/copyright"
        expect(copyright_, *phrases)
        notices[f"{package}-copyright"] = copyright_
        for src in sorted((root / folder).rglob("*.ogg")):
            stem = src.relative_to(root / folder).with_suffix("").as_posix().replace("/", "_").replace(" ", "_")
            tracks.append(Track(
                name=f"{package.removesuffix('-data')}_{stem}", stratum=package, group=f"{package}:{stem}",
                source=f"{pkg}: {src.relative_to(root)}", licence=licence, notices=[f"{package}-copyright"],
                make=lambda src=src: read_audio(src)))
    chorales, more = piano_tracks(tmp)
    notices.update(more)
    chorales = [t for t in chorales if t.stratum == "chorales"]
    for i, program in enumerate(CHORALE_PROGRAMS):
        for t in chorales[i::CHORALE_STEP]:
            rel = t.source.split(": ", 1)[1]
            tracks.append(Track(
                name=f"{t.name}_gm{program}", stratum=f"chorales-gm{program}", group=t.group,
                source=f"{t.source}, on General MIDI program {program}",
                licence=t.licence, notices=t.notices,
                make=lambda rel=rel, p=program: render_score(
                    piano_score(rel, lambda: instrument.instrumentFromMidiProgram(p)), rel, tmp)))
    return tracks, notices


# ------------------------------------------------------------------ building


def split(tracks, durations):
    """Whole groups of tracks to val, per stratum, until >= 10% of tracks and of duration."""
    val = set()
    for stratum in sorted({t.stratum for t in tracks}):
        members = [t for t in tracks if t.stratum == stratum]
        groups = sorted({t.group for t in members})
        random.Random(f"{SEED}:{stratum}").shuffle(groups)
        need_n = math.ceil(VAL_FRACTION * len(members))
        need_s = VAL_FRACTION * sum(durations[t.name] for t in members)
        n = s = 0
        for g in groups:
            if n >= need_n and s >= need_s:
                break
            for t in members:
                if t.group == g:
                    val.add(t.name)
                    n, s = n + 1, s + durations[t.name]
    return {t.name: "val" if t.name in val else "train" for t in tracks}


def totals(tracks, durations, splits):
    out = {}
    for which in ("train", "val", "all"):
        chosen = [t for t in tracks if which in ("all", splits[t.name])]
        secs = sum(durations[t.name] for t in chosen)
        out[which] = {"tracks": len(chosen), "seconds": round(secs, 1), "hours": round(secs / 3600, 3)}
    return out


def build(genre, out):
    start = time.time()
    base = out / genre
    staging = base / ".staging"  # finished tracks wait here until the split is known

    with tempfile.TemporaryDirectory(prefix="corpus-") as tmp:
        if genre == "piano":
            tracks, notices = piano_tracks(tmp)
        elif genre == "varied":
            tracks, notices = varied_tracks(tmp, out / ".downloads")
        else:
            tracks, notices = electronic_tracks(tmp, out / ".downloads")
        if len({t.name for t in tracks}) != len(tracks):
            fail(f"{genre}: two tracks map to the same file name")
        licences = base / "licences"
        for d in (staging, base / "train", base / "val", licences):
            d.mkdir(parents=True, exist_ok=True)
        for name, src in notices.items():  # copy now: the unpacked packages vanish with tmp
            shutil.copyfile(src, licences / name)

        def existing(name):
            return next((p for p in (base / d / f"{name}.flac" for d in ("train", "val", ".staging"))
                         if p.is_file()), None)

        done = sum(existing(t.name) is not None for t in tracks)
        log(f"{genre}: {len(tracks)} tracks, {done} already built")
        for i, t in enumerate(tracks, 1):
            if existing(t.name):
                continue
            t0 = time.time()
            x = trim(t.make())
            if x.size == 0:
                fail(f"{t.source}: silent after conversion")
            part = staging / f"{t.name}.flac.part"
            sf.write(part, np.clip(x, -1, 1), SR, format="FLAC", subtype="PCM_16")
            os.replace(part, staging / f"{t.name}.flac")
            log(f"[{genre} {i}/{len(tracks)}] {t.name}: {len(x) / SR:.1f} s in {time.time() - t0:.1f} s")

    durations = {t.name: sf.info(existing(t.name)).duration for t in tracks}
    splits = split(tracks, durations)
    for t in tracks:
        target = base / splits[t.name] / f"{t.name}.flac"
        if existing(t.name) != target:
            os.replace(existing(t.name), target)
    keep = {f"{t.name}.flac" for t in tracks}
    for d in ("train", "val", ".staging"):
        for stale in (base / d).iterdir():
            if stale.name not in keep:  # left by an older track list or an interrupted write
                stale.unlink()
    staging.rmdir()

    manifest = {
        "genre": genre,
        "audio": f"mono FLAC, 16 bit, {SR} Hz, leading/trailing silence below -60 dBFS trimmed",
        "split": f"whole tracks (related versions kept together) per source, seed {SEED}, "
                 f">= {VAL_FRACTION:.0%} of tracks and of duration in val",
        "totals": totals(tracks, durations, splits),
        "sources": {s: totals([t for t in tracks if t.stratum == s], durations, splits)
                    for s in sorted({t.stratum for t in tracks})},
        "licences": sorted({t.licence for t in tracks}),
        "tracks": [
            {"file": f"{splits[t.name]}/{t.name}.flac", "source": t.source, "licence": t.licence,
             "licence_files": [f"licences/{n}" for n in t.notices], **t.extra, "stratum": t.stratum, "group": t.group,
             "duration": round(durations[t.name], 3), "split": splits[t.name]}
            for t in tracks
        ],
    }
    part = base / "manifest.json.part"
    part.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    os.replace(part, base / "manifest.json")

    tot = manifest["totals"]
    log(f"{genre}: train {tot['train']['tracks']} tracks {tot['train']['hours']:.2f} h, "
        f"val {tot['val']['tracks']} tracks {tot['val']['hours']:.2f} h "
        f"({time.time() - start:.0f} s) -> {base}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("genre", choices=["piano", "electronic", "varied", "all"])
    ap.add_argument("--out", type=Path, default=Path("~/.cache/musicgen-corpus"),
                    help="output folder (default: %(default)s)")
    args = ap.parse_args()
    out = args.out.expanduser().resolve()
    for genre in ("piano", "electronic", "varied") if args.genre == "all" else (args.genre,):
        build(genre, out)


if __name__ == "__main__":
    main()
