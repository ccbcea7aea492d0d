import io
import json
import zipfile
from dataclasses import replace

import numpy as np
import pytest
from testmodels import random_bundle

from musicgen_gui.core.bundle import load_bundle, save_bundle
from musicgen_gui.core.errors import ModelError
from musicgen_gui.core.model import Architecture


def rewrite(path, config_edit=None, drop=None, add=None):
    """Copy a bundle with its config edited or entries dropped/added."""
    with zipfile.ZipFile(path) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    if config_edit:
        config = json.loads(entries["config.json"])
        config_edit(config)
        entries["config.json"] = json.dumps(config).encode()
    for name in drop or ():
        del entries[name]
    entries.update(add or {})
    out = path.with_name("edited.musicgen")
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return out


def npy_bytes(array, allow_pickle=False):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def test_round_trip_keeps_everything(tmp_path):
    bundle = random_bundle(Architecture(cell="gru", units=(16, 8), residual=False, input_noise=0.2))
    path = save_bundle(bundle, tmp_path / "m.musicgen")
    loaded = load_bundle(path)
    assert loaded.architecture == bundle.architecture
    assert loaded.features == bundle.features
    assert set(loaded.weights) == set(bundle.weights)
    for name, w in bundle.weights.items():
        assert np.array_equal(loaded.weights[name], w)
    assert np.array_equal(loaded.normaliser.mean, bundle.normaliser.mean)
    assert loaded.provenance == bundle.provenance
    assert not loaded.level_mean_power
    assert load_bundle(save_bundle(replace(bundle, level_mean_power=True), tmp_path / "t.musicgen")).level_mean_power
    assert loaded.memory_shape_boost == 1.0
    assert load_bundle(save_bundle(replace(bundle, memory_shape_boost=2.0), tmp_path / "s.musicgen")
                       ).memory_shape_boost == 2.0
    assert loaded.restore_rises
    assert not load_bundle(save_bundle(replace(bundle, restore_rises=False), tmp_path / "r.musicgen")).restore_rises
    assert loaded.rises_from_hz == 0.0 and loaded.restore_detail
    assert not load_bundle(save_bundle(replace(bundle, restore_detail=False), tmp_path / "d.musicgen")).restore_detail
    assert loaded.vary_on_beat
    assert not load_bundle(save_bundle(replace(bundle, vary_on_beat=False), tmp_path / "v.musicgen")).vary_on_beat
    assert load_bundle(save_bundle(replace(bundle, rises_from_hz=2100.0), tmp_path / "f.musicgen")
                       ).rises_from_hz == 2100.0
    assert not list(tmp_path.glob("*.part"))


def test_a_model_from_before_generation_settings_loads_with_their_defaults(tiny_bundle_path):
    older = load_bundle(rewrite(tiny_bundle_path, config_edit=lambda c: c.pop("generation")))
    # The attacks are restored for any model that does not say otherwise, as for the piano model.
    assert not older.level_mean_power and older.memory_shape_boost == 1.0 and older.restore_rises
    assert older.rises_from_hz == 0.0 and older.restore_detail and older.vary_on_beat  # in every band


def test_a_model_that_says_whether_it_held_the_timbre_loads(tiny_bundle_path):
    # Files from before the timbre anchor held every model's balance carry the switch: the bundled
    # piano model says false.
    for held in (False, True):
        settings = {"anchor_timbre": held, "level_mean_power": True}
        assert load_bundle(rewrite(tiny_bundle_path, config_edit=lambda c: c.update(generation=settings))
                           ).level_mean_power


@pytest.mark.parametrize("edit,message", [
    (lambda c: c.update(format_version=99), "version 99 is not supported"),
    (lambda c: c.update(format="something"), "wrong format tag"),
    (lambda c: c["features"].update(n_bins=256), "normalisation mean must be a list of 256"),
    (lambda c: c["architecture"].update(cell="transformer"), "unknown cell"),
    (lambda c: c["architecture"].update(units=[64]), "weight rnn0/kernel has shape"),
    (lambda c: c["normalisation"].update(std=[0.0] * 512), "must be positive"),
    (lambda c: c.pop("provenance"), "lacks provenance"),
    (lambda c: c.update(generation={"anchor_timbre": "yes"}), "true/false level_mean_power"),
    (lambda c: c.update(generation={"restore_detail": 1}), "true/false level_mean_power"),
    (lambda c: c.update(generation={"level_mean_power": 1}), "true/false level_mean_power"),
    (lambda c: c.update(generation={"run": "code"}), "true/false level_mean_power"),
    (lambda c: c.update(generation={"restore_rises": "no"}),
     "true/false level_mean_power, restore_rises, restore_detail and vary_on_beat"),
    (lambda c: c.update(generation={"vary_on_beat": "no"}), "true/false level_mean_power"),
    (lambda c: c.update(generation={"memory_shape_boost": 0.5}), "memory_shape_boost must be a number from 1"),
    (lambda c: c.update(generation={"memory_shape_boost": "2"}), "memory_shape_boost must be a number from 1"),
    (lambda c: c.update(generation={"rises_from_hz": -1}), "rises_from_hz must be a number from 0 to 11025"),
    (lambda c: c.update(generation={"rises_from_hz": 20000}), "rises_from_hz must be a number from 0 to 11025"),
    (lambda c: c.update(generation={"rises_from_hz": True}), "rises_from_hz must be a number from 0 to 11025"),
])
def test_config_mismatches_are_refused_with_a_clear_message(tiny_bundle_path, edit, message):
    with pytest.raises(ModelError, match=message):
        load_bundle(rewrite(tiny_bundle_path, config_edit=edit))


def test_missing_wrong_or_hostile_weights_are_refused(tiny_bundle_path):
    with pytest.raises(ModelError, match="missing out/bias"):
        load_bundle(rewrite(tiny_bundle_path, drop=["weights/out/bias.npy"]))
    with pytest.raises(ModelError, match="shape"):
        load_bundle(rewrite(tiny_bundle_path, add={"weights/out/bias.npy": npy_bytes(np.zeros(3, np.float32))}))
    with pytest.raises(ModelError, match="NaN"):
        load_bundle(rewrite(tiny_bundle_path, add={"weights/out/bias.npy": npy_bytes(np.full(512, np.nan, np.float32))}))
    pickled = npy_bytes(np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ModelError, match="corrupted weights"):
        load_bundle(rewrite(tiny_bundle_path, add={"weights/out/bias.npy": pickled}))
    with pytest.raises(ModelError, match="unexpected entry"):
        load_bundle(rewrite(tiny_bundle_path, add={"payload.py": b"print('hi')"}))


def test_files_that_are_not_bundles(tmp_path):
    garbage = tmp_path / "garbage.musicgen"
    garbage.write_bytes(b"\x00\x01not a zip" * 100)
    with pytest.raises(ModelError, match="not a valid archive"):
        load_bundle(garbage)
    with pytest.raises(ModelError, match="does not exist"):
        load_bundle(tmp_path / "nope.musicgen")
    with pytest.raises(ModelError, match="no bundled model named 'nosuchmodel'"):
        load_bundle("nosuchmodel")
    with pytest.raises(ModelError, match="is a folder"):
        load_bundle(str(tmp_path) + "/")
