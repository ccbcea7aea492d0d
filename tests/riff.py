"""Reading a WAV file's RIFF chunks back, as an audio editor would."""

import struct


def chunks(path) -> dict[bytes, bytes]:
    """Each top-level chunk's body by its id, and each LIST/INFO entry's text by its id."""
    data = open(path, "rb").read()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8  # the RIFF size counts every chunk
    found, at = {}, 12
    while at + 8 <= len(data):
        ident, size = data[at:at + 4], struct.unpack("<I", data[at + 4:at + 8])[0]
        body = data[at + 8:at + 8 + size]
        found[ident] = body
        if ident == b"LIST" and body[:4] == b"INFO":
            sub = 4
            while sub + 8 <= len(body):
                key, n = body[sub:sub + 4], struct.unpack("<I", body[sub + 4:sub + 8])[0]
                found[key] = body[sub + 8:sub + 8 + n].rstrip(b"\0")
                sub += 8 + n + n % 2
        at += 8 + size + size % 2
    assert at == len(data), "the chunks do not fill the file exactly"
    return found


def acid(path) -> dict:
    flags, root, _, _, beats, denominator, numerator, bpm = struct.unpack("<IHHfIHHf", chunks(path)[b"acid"])
    return {"flags": flags, "root": root, "beats": beats, "meter": (numerator, denominator), "bpm": bpm}
