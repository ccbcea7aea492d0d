#!/usr/bin/env python3
"""Build the out-of-domain evaluation sets: music that shares nothing with the training corpora.

    python resources/models/ood_corpus.py {electronic,piano,instruments,all} [--out DIR]

electronic:  game soundtracks with drums from Debian packages other than the
             training ones (at most 3 tracks per package).
piano:       music21 corpus works outside the training corpus (no Bach, none of
             corpus.py's solo-piano works), played on the piano of another
             soundfont (TimGM6mb).
instruments: further music21 works, each wholly on one instrument the models
             never heard (organ, guitar, strings, choir, flute, ...), TimGM6mb;
             and orchestral recordings from wesnoth-1.16-music.

Every track becomes mono 16-bit FLAC at 22050 Hz in OUT/ood/<set>/, described
by OUT/ood/<set>/manifest.json (source, licence, duration; for a rendered score
also its "labels": the tempo, meter and key signature its MIDI file carried, as
they change, in seconds of the audio, which core/labels.py reads); licence notices go
to OUT/ood/<set>/licences/. When a run of all three sets finishes it writes
OUT/ood/READY (file count and minutes per set). Like corpus.py, whose helpers
it uses, it resumes where it stopped and writes every file atomically.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus as C  # noqa: E402  (corpus.py exits with a hint if numpy, soundfile or soxr are missing)

np, sf = C.np, C.sf

MIN_SECONDS = 75.0
GAP = np.zeros(int(1.0 * C.SR), np.float32)  # between the movements of one work
SOUNDFONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
SOUNDFONT_LICENCE = "GPL-2.0-only"
SOUNDFONT_NOTICE = Path("/usr/share/doc/timgm6mb-soundfont/copyright")
SETS = ("electronic", "piano", "instruments")

# Per package: its licence as the copyright file states it (checked with expect()),
# and up to 3 tracks (path inside the package, title, author). Jingles and loops
# under MIN_SECONDS stay out.
ELECTRONIC = {
    "asc-music": dict(
        licence="GPL-2.0-or-later",
        expect=("Files: * Copyright: 2002 Michael Kievernagel License: GPL-2+",
                "either version 2, or (at your option) any later version"),
        tracks=[("usr/share/games/asc/music/frontiers.mp3", "Frontiers", "Michael Kievernagel"),
                ("usr/share/games/asc/music/machine_wars.mp3", "Machine Wars", "Michael Kievernagel"),
                ("usr/share/games/asc/music/time_to_strike.mp3", "Time to Strike", "Michael Kievernagel")]),
    "extremetuxracer-data": dict(
        licence="GPL-2.0-or-later",
        expect=("Files: * Copyright: 1999-2001, Jasmin F. Patry (Tuxracer)", "Extreme Tux Racer Team",
                "License: GPL-2+"),
        readme="usr/share/games/etr/music/readme",  # who composed which track
        tracks=[("usr/share/games/etr/music/calmrace-ks.ogg", "calmrace", "K. Schroeder"),
                ("usr/share/games/etr/music/spunkyrace-ks.ogg", "spunkyrace", "K. Schroeder"),
                ("usr/share/games/etr/music/freezingpoint.ogg", "freezingpoint", "Grady O'Connell")]),
    "frozen-bubble-data": dict(
        licence="GPL-2.0-only",
        expect=("2000-2010 The Frozen-Bubble Team License: GPL-2", "version 2 dated June, 1991"),
        tracks=[("usr/share/games/frozen-bubble/snd/frozen-mainzik-1p.ogg", "main music, 1 player", "The Frozen-Bubble Team"),
                ("usr/share/games/frozen-bubble/snd/frozen-mainzik-2p.ogg", "main music, 2 players", "The Frozen-Bubble Team"),
                ("usr/share/games/frozen-bubble/snd/introzik.ogg", "intro music", "The Frozen-Bubble Team")]),
    "singularity-music": dict(
        licence="CC-BY-SA-3.0",
        expect=("Copyright (C) 2007-2008,2012 Max McCracken", "this License: Attribution, ShareAlike."),
        readme="usr/share/doc/singularity-music/README",  # says the BY-SA licence is version 3.0
        tracks=[("usr/share/games/singularity/music/A New Journey.ogg", "A New Journey", "Max McCracken"),
                ("usr/share/games/singularity/music/Media Threat.ogg", "Media Threat", "Max McCracken"),
                ("usr/share/games/singularity/music/Nebula.ogg", "Nebula", "Max McCracken")]),
    "xmoto-data": dict(
        licence="GPL-2.0-or-later",
        expect=("2005-2020 X-Moto Development Team License: GPL-2+",),
        tracks=[("usr/share/games/xmoto/Textures/Musics/batcave.ogg", "batcave", "X-Moto Development Team"),
                ("usr/share/games/xmoto/Textures/Musics/foxrun.ogg", "foxrun", "X-Moto Development Team"),
                ("usr/share/games/xmoto/Textures/Musics/ridealong.ogg", "ridealong", "X-Moto Development Team")]),
}

# Recorded (not rendered) acoustic music for the instruments set: orchestral game music.
ORCHESTRAL = {
    "wesnoth-1.16-music": dict(
        licence="GPL-2.0-or-later",
        expect=("GNU General Public License version 2 or at your option any later version",),
        instrument="orchestra (recording)",
        tracks=[("usr/share/games/wesnoth/1.16/data/core/music/elvish-theme.ogg", "Elvish theme", "Doug Kaufman"),
                ("usr/share/games/wesnoth/1.16/data/core/music/nunc_dimittis.ogg", "Nunc Dimittis", "Jeremy Nicoll"),
                ("usr/share/games/wesnoth/1.16/data/core/music/traveling_minstrels.ogg", "Traveling Minstrels",
                 "Mattias Westlund")]),
}

# music21 corpus works: (name, movements played one after another, title).
PIANO = [
    ("beethoven_op18no1_mvt3", ["beethoven/opus18no1/movement3.mxl"], "Beethoven, String Quartet op. 18 no. 1, III"),
    ("beethoven_op59no1_mvt2", ["beethoven/opus59no1/movement2.mxl"], "Beethoven, String Quartet op. 59 no. 1, II"),
    ("beethoven_op59no2_mvt3", ["beethoven/opus59no2/movement3.mxl"], "Beethoven, String Quartet op. 59 no. 2, III"),
    ("haydn_op74no1_mvt1", ["haydn/opus74no1/movement1.mxl"], "Haydn, String Quartet op. 74 no. 1, I"),
    ("haydn_op1no1_mvt1-2", ["haydn/opus1no1/movement1.mxl", "haydn/opus1no1/movement2.mxl"],
     "Haydn, String Quartet op. 1 no. 1, I-II"),
    ("mozart_k458_mvt2", ["mozart/k458/movement2.mxl"], "Mozart, String Quartet K. 458, II"),
    ("mozart_k80_mvt1", ["mozart/k80/movement1.mxl"], "Mozart, String Quartet K. 80, I"),
    ("schumann_op41no1_mvt2-3", ["schumann_robert/opus41no1/movement2.mxl", "schumann_robert/opus41no1/movement3.mxl"],
     "R. Schumann, String Quartet op. 41 no. 1, II-III"),
    ("schubert_lindenbaum", ["schubert/Lindenbaum.xml"], "Schubert, Winterreise: Der Lindenbaum"),
    ("handel_lascia_chio_pianga", ["handel/rinaldo/Lascia_chio_pianga.mxl"], "Handel, Rinaldo: Lascia ch'io pianga"),
    ("monteverdi_madrigal_5_1", ["monteverdi/madrigal.5.1.mxl"], "Monteverdi, Madrigal V.1"),
]

# music21 corpus works, each wholly on one General MIDI program: (name, movements, title, program).
INSTRUMENTS = [
    ("palestrina_credo_63_organ", ["palestrina/Credo_63_a.krn"], "Palestrina, Credo (63a)", 19),
    ("luca_gloria_organ", ["luca/gloria.xml"], "Gloria (music21 corpus: luca)", 19),
    ("monteverdi_madrigal_3_1_choir", ["monteverdi/madrigal.3.1.mxl"], "Monteverdi, Madrigal III.1", 52),
    ("monteverdi_madrigal_4_1_choir", ["monteverdi/madrigal.4.1.mxl"], "Monteverdi, Madrigal IV.1", 52),
    ("beethoven_op59no3_mvt3_strings", ["beethoven/opus59no3/movement3.mxl"],
     "Beethoven, String Quartet op. 59 no. 3, III", 48),
    ("mozart_k155_mvt1_strings", ["mozart/k155/movement1.mxl"], "Mozart, String Quartet K. 155, I", 48),
    ("weber_concertino_clarinet", ["weber/concertino_clarinet.mxl"], "Weber, Clarinet Concertino", 71),
    ("mozart_k156_mvt3_flute", ["mozart/k156/movement3.mxl"], "Mozart, String Quartet K. 156, III", 73),
    ("lusitano_allor_che_ignuda_guitar", ["lusitano/allor_che_ignuda.mxl"], "Lusitano, Allor che ignuda", 24),
    ("monteverdi_madrigal_3_2_steel_guitar", ["monteverdi/madrigal.3.2.mxl"], "Monteverdi, Madrigal III.2", 25),
    ("palestrina_agnus_01_trumpet", ["palestrina/Agnus_01.krn"], "Palestrina, Agnus Dei (01)", 56),
    ("trecento_credo_cursor_vibraphone", ["trecento/PMFC_13_04-Credo Cursor.xml"], "Credo Cursor (PMFC 13.4)", 11),
]
GM_NAMES = {0: "Acoustic Grand Piano", 11: "Vibraphone", 19: "Church Organ", 24: "Acoustic Guitar (nylon)",
            25: "Acoustic Guitar (steel)", 48: "String Ensemble 1", 52: "Choir Aahs", 56: "Trumpet", 71: "Clarinet",
            73: "Flute"}


def work(rel):
    """The work a music21 corpus file belongs to: its folder for a work in movements, else the file."""
    parts = rel.rsplit(".", 1)[0].split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else "/".join(parts)


def training_overlap(rel):
    """Why a music21 corpus file is in corpus.py's piano corpus (all of bach/, the solo works), or None."""
    if rel.startswith("bach/"):
        return "corpus.py uses every Bach file (bwv846 and all the chorales)"
    if work(rel) in {work(r) for r in C.PIANO_SOLO}:
        return "one of corpus.py's solo-piano works"
    return None


def package_tracks(packages, tmp, downloads):
    tracks, notices = [], {}
    for package, spec in packages.items():
        root = Path(tmp) / package
        pkg = C.unpack(C.fetch_deb(package, downloads), root)
        copyright_ = root / f"usr/share/doc/{package}/copyright"
        C.expect(copyright_, *spec["expect"])
        names = [f"{package}-copyright"]
        notices[names[0]] = copyright_
        if "readme" in spec:
            names.append(f"{package}-{Path(spec['readme']).name}")
            notices[names[1]] = root / spec["readme"]
        for path, title, author in spec["tracks"]:
            tracks.append(C.Track(
                name=f"{package.removesuffix('-data').removesuffix('-music')}_{Path(path).stem}".replace(" ", "_"),
                stratum=package, group=package, source=f"{pkg}: {path}",
                licence=spec["licence"], notices=names,
                make=lambda src=root / path: C.read_audio(src),
                title=title, author=author, **({"instrument": spec["instrument"]} if "instrument" in spec else {}),
            ))
    return tracks, notices


def score(rel, program):
    """corpus.py's piano score of rel on program, less its notes of length 0 (grace notes, chord symbols).

    music21 writes those with their note-on after their note-off: a sustained
    instrument then holds them forever and FluidSynth never ends.
    """
    from music21 import instrument

    s = C.piano_score(rel, lambda: instrument.instrumentFromMidiProgram(program))
    for n in list(s.recurse().notes):
        if n.quarterLength == 0:
            n.activeSite.remove(n)
    return s


def midi_labels(mf):
    """A music21 MidiFile's tempo (quarter-note BPM), meter and key signature as they change:
    {"tempo": [[seconds, bpm], ...], "meter": [[seconds, "3/4"], ...], "key": [[seconds, sharps, minor], ...]}.

    Read from the MIDI file itself, so the labels are what FluidSynth played.
    """
    from music21.midi import MetaEvents

    events = []  # (tick, kind, data)
    for track in mf.tracks:
        tick = 0
        for e in track.events:
            if e.isDeltaTime():
                tick += e.time
            elif e.type in (MetaEvents.SET_TEMPO, MetaEvents.TIME_SIGNATURE, MetaEvents.KEY_SIGNATURE):
                events.append((tick, e.type, bytes(e.data)))
    events.sort(key=lambda ev: ev[0])
    per_quarter = mf.ticksPerQuarterNote
    labels = {"tempo": [], "meter": [], "key": []}
    seconds, last_tick, usec = 0.0, 0, 500000  # MIDI's default tempo: 120 BPM
    for tick, kind, data in events:
        seconds += (tick - last_tick) / per_quarter * usec / 1e6
        last_tick = tick
        if kind == MetaEvents.SET_TEMPO:
            usec = int.from_bytes(data[:3], "big")
            value = [round(60e6 / usec, 3)]
            name = "tempo"
        elif kind == MetaEvents.TIME_SIGNATURE:
            value, name = [f"{data[0]}/{2 ** data[1]}"], "meter"
        else:
            value, name = [int.from_bytes(data[:1], "big", signed=True), bool(data[1])], "key"
        if labels[name] and labels[name][-1][0] == round(seconds, 3):
            labels[name][-1] = [round(seconds, 3), *value]  # a later event at the same moment wins
        elif not labels[name] or labels[name][-1][1:] != value:
            labels[name].append([round(seconds, 3), *value])
    if not labels["tempo"] or labels["tempo"][0][0] > 0:
        labels["tempo"].insert(0, [0.0, 120.0])
    return labels


def shifted(labels, seconds):
    """Labels moved later by ``seconds`` (negative: earlier; what falls before 0 starts at 0)."""
    out = {}
    for name, changes in labels.items():
        moved = [[round(t + seconds, 3), *v] for t, *v in changes]
        before = [c for c in moved if c[0] <= 0]
        out[name] = ([[0.0, *before[-1][1:]]] if before else []) + [c for c in moved if c[0] > 0]
    return out


def render_work(movements, tmp, program, labels):
    """The movements rendered one after another; ``labels`` (a dict) gets their tempo, meter and key
    in seconds of the returned audio."""
    audio, start = [], 0.0
    for rel in movements:
        raw, mf = C.render_score(score(rel, program), rel, tmp, soundfont=SOUNDFONT, with_midi=True)
        loud = np.flatnonzero(np.abs(raw) > C.SILENCE)
        lead = max(loud[0] - C.PAD, 0) if loud.size else 0  # what trim() cuts from the start
        x = C.trim(raw)
        start += len(GAP) / C.SR if audio else 0.0
        part = shifted(midi_labels(mf), start - lead / C.SR)
        for name, changes in part.items():
            labels.setdefault(name, []).extend(changes)
        audio.append(x)
        start += len(x) / C.SR
    return np.concatenate([a for x in audio for a in (GAP, x)][1:])


def music21_tracks(which, tmp):
    try:
        import music21
        from music21 import corpus
    except ImportError:
        C.fail("music21 is missing; install it with: pip install music21")
    C.need_tool("fluidsynth", "install it with: apt-get install fluidsynth")
    if not SOUNDFONT.is_file():
        C.fail(f"{SOUNDFONT} not found; install it with: apt-get install timgm6mb-soundfont")

    notes_of = C.score_notes()
    works = [(*w, 0) for w in PIANO] if which == "piano" else INSTRUMENTS
    tracks = []
    for name, movements, title, program in works:
        for rel in movements:
            if training_overlap(rel):
                C.fail(f"{rel}: {training_overlap(rel)}")
        notes = {**notes_of(movements[0]), "title": title}  # rights and author as the score notes them
        labels = {}  # filled when rendered: what the score says the tempo, meter and key are
        tracks.append(C.Track(
            name=name, stratum=GM_NAMES[program], group=work(movements[0]),
            source="; ".join(f"music21 {music21.__version__} corpus: {rel}" for rel in movements),
            licence=f"{C.MUSIC21_LICENCE}; rendered with TimGM6mb.sf2 ({SOUNDFONT_LICENCE})",
            notices=["music21-corpus-license.txt", "TimGM6mb-copyright"],
            make=lambda m=movements, p=program, labels=labels: render_work(m, tmp, p, labels),
            labels=labels,
            **notes,
            instrument=f"General MIDI program {program}: {GM_NAMES[program]}",
        ))
    return tracks, {"music21-corpus-license.txt": Path(corpus.__file__).parent / "license.txt",
                    "TimGM6mb-copyright": SOUNDFONT_NOTICE}


def build(which, out):
    start = time.time()
    base = out / "ood" / which
    with tempfile.TemporaryDirectory(prefix="ood-corpus-") as tmp:
        if which == "electronic":
            tracks, notices = package_tracks(ELECTRONIC, tmp, out / ".downloads")
        else:
            tracks, notices = music21_tracks(which, tmp)
        if which == "instruments":
            recorded, more = package_tracks(ORCHESTRAL, tmp, out / ".downloads")
            tracks, notices = tracks + recorded, {**notices, **more}
        if len({t.name for t in tracks}) != len(tracks):
            C.fail(f"{which}: two tracks map to the same file name")
        licences = base / "licences"
        licences.mkdir(parents=True, exist_ok=True)
        for name, src in notices.items():
            shutil.copyfile(src, licences / name)

        done = sum((base / f"{t.name}.flac").is_file() for t in tracks)
        C.log(f"ood {which}: {len(tracks)} tracks, {done} already built")
        for i, t in enumerate(tracks, 1):
            target = base / f"{t.name}.flac"
            labels = base / f"{t.name}.labels.json"  # a rendered score's tempo, meter and key
            if target.is_file() and ("labels" not in t.extra or labels.is_file()):
                if "labels" in t.extra:
                    t.extra["labels"].update(json.loads(labels.read_text()))
                continue
            t0 = time.time()
            x = C.trim(t.make())
            if len(x) < MIN_SECONDS * C.SR:
                C.fail(f"{t.source}: {len(x) / C.SR:.1f} s, under {MIN_SECONDS:.0f} s")
            part = base / f"{t.name}.flac.part"
            sf.write(part, np.clip(x, -1, 1), C.SR, format="FLAC", subtype="PCM_16")
            os.replace(part, target)
            if "labels" in t.extra:
                part = labels.with_suffix(".part")
                part.write_text(json.dumps(t.extra["labels"]) + "\n")
                os.replace(part, labels)
            C.log(f"[ood {which} {i}/{len(tracks)}] {t.name}: {len(x) / C.SR:.1f} s in {time.time() - t0:.1f} s")

    keep = {f"{t.name}{suffix}" for t in tracks for suffix in (".flac", ".labels.json")}
    for stale in base.iterdir():
        if stale.is_file() and stale.name.endswith((".flac", ".part", ".labels.json")) and stale.name not in keep:
            stale.unlink()  # left by an older track list or an interrupted write

    durations = {t.name: sf.info(base / f"{t.name}.flac").duration for t in tracks}

    def totals(chosen):
        secs = sum(durations[t.name] for t in chosen)
        return {"tracks": len(chosen), "seconds": round(secs, 1), "minutes": round(secs / 60, 1)}

    manifest = {
        "set": f"ood/{which}",
        "audio": f"mono FLAC, 16 bit, {C.SR} Hz, leading/trailing silence below -60 dBFS trimmed",
        "purpose": "out-of-domain evaluation only: no source is shared with corpus.py's training corpora",
        "totals": totals(tracks),
        "sources": {s: totals([t for t in tracks if t.stratum == s]) for s in sorted({t.stratum for t in tracks})},
        "licences": sorted({t.licence for t in tracks}),
        "tracks": [
            {"file": f"{t.name}.flac", "source": t.source, "licence": t.licence,
             "licence_files": [f"licences/{n}" for n in t.notices], **t.extra, "stratum": t.stratum,
             "duration": round(durations[t.name], 3)}
            for t in tracks
        ],
    }
    part = base / "manifest.json.part"
    part.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    os.replace(part, base / "manifest.json")
    tot = manifest["totals"]
    C.log(f"ood {which}: {tot['tracks']} tracks, {tot['minutes']:.1f} min ({time.time() - start:.0f} s) -> {base}")
    return tot


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("set", nargs="?", default="all", choices=[*SETS, "all"])
    ap.add_argument("--out", type=Path, default=Path("~/.cache/musicgen-corpus"),
                    help="output folder; the sets go to OUT/ood (default: %(default)s)")
    args = ap.parse_args()
    out = args.out.expanduser().resolve()
    done = {s: build(s, out) for s in (SETS if args.set == "all" else (args.set,))}
    if args.set == "all":
        ready = out / "ood" / "READY"
        part = ready.with_suffix(".part")
        part.write_text("".join(f"{s}: {t['tracks']} files, {t['minutes']:.1f} min\n" for s, t in done.items()))
        os.replace(part, ready)
        C.log(f"wrote {ready}")


if __name__ == "__main__":
    main()
