"""Moved vocal tracts: each espeak-ng clip said by a variant with its formants scaled (``tract``)."""
import shutil

import numpy as np
import pytest
import soundfile

from blackmagic.datamodules import SpokenKeywordsDataModule
from blackmagic.datamodules.espeak_variants import variant_text
from blackmagic.datamodules.speech_engines import Espeak

from .test_spoken_keywords import manifest, small

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


def test_variant_text_scales_every_formant_frequency_and_keeps_the_rest():
    base = "language variant\nname m3\npitch 80 122\nformant 1  96  97 100\nformant 3 96 103 100 -20\nformant 0 100 1 1\n"
    text = variant_text(base, [1.5, 2.0, 0.5, 1, 1, 1, 1, 0.9])
    lines = text.splitlines()
    assert lines[:4] == ["language variant", "name m3", "pitch 80 122", "formant 0 100 1 1"]
    assert "formant 1 144 97 100" in lines, "96 x 1.5, height and width kept"
    assert "formant 2 200 100 100" in lines, "a formant the file leaves out is at 100 %"
    assert "formant 3 48 103 100 -20" in lines, "the frequency offset is kept"
    assert "formant 8 90 100 100" in lines and sum(line.startswith("formant") for line in lines) == 9


def centroid(path):
    x, rate = soundfile.read(path)
    power = np.abs(np.fft.rfft(x)) ** 2
    return float((power * np.fft.rfftfreq(len(x), 1 / rate)).sum() / power.sum())


@needs_espeak
def test_a_longer_tract_lowers_the_spectrum(tmp_path):
    centroids = []
    for factor in (0.8, 1.0, 1.25):
        engine = Espeak([50, 51], [150, 151], [factor, factor], 0.0)
        engine.prepare(tmp_path / str(factor))
        delivery = engine.draw(np.random.default_rng(0))
        assert delivery["tract"] == [factor] * 8
        out = tmp_path / f"{factor}.wav"
        assert engine.say("see", "m3", delivery, out).returncode == 0
        centroids.append(centroid(out))
        assert not list((tmp_path / str(factor)).rglob("bm-*")), "the clip's variant outlives the clip"
    assert centroids[0] < 0.95 * centroids[1] and centroids[2] > 1.1 * centroids[1]


@needs_espeak
def test_tract_gives_every_clip_its_own_voice_and_more_clips_than_espeak_lists_voices(tmp_path):
    dm = small(tmp_path, "t", words=["go"], voices=["m1", "m2", "f1"], clips_per_voice=120, tract=[0.85, 1.2],
               tract_jitter=0.05)
    dm.prepare_data()  # 360 clips: more than the 350 voices espeak-ng lists, had the variants been kept
    rows = manifest(dm)
    tracts = np.array([[float(f) for f in r["tract"].split()] for r in rows])
    assert tracts.shape == (360, 8) and len({r["tract"] for r in rows}) == 360
    common = tracts.mean(1)
    assert 0.85 * 0.95 <= tracts.min() and tracts.max() <= 1.2 * 1.05 and common.std() > 0.05
    assert (tracts.max(1) / tracts.min(1)).max() <= 1.05 / 0.95 + 1e-3, "formants of a clip move together"
    plain = small(tmp_path, "p", words=["go"], voices=["m1", "m2", "f1"], clips_per_voice=120)
    assert plain.root != dm.root and small(tmp_path, "q", words=["go"], voices=["m1"]).tract is None
    first = rows[0]["path"]
    plain.prepare_data()
    assert not np.array_equal(soundfile.read(dm.root / first)[0], soundfile.read(plain.root / first)[0])
    assert all(r["tract"] == "" for r in manifest(plain))


@pytest.mark.parametrize("settings,message", [
    ({"tract": [1.2, 0.9]}, r"SpokenKeywordsDataModule.tract: needs \[low, high\] formant factors within 0.5-2.0"),
    ({"tract": [0.9]}, "SpokenKeywordsDataModule.tract: needs"),
    ({"tract": [0.9, 1.1], "tract_jitter": 0.7}, r"SpokenKeywordsDataModule.tract_jitter: needs a fraction in \[0, 0.5\)"),
])
def test_bad_tract_settings_are_refused_when_built(settings, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        SpokenKeywordsDataModule(root=str(tmp_path / "x"), **settings)



def test_installed_voices_are_said_without_a_private_data_folder(tmp_path):
    engine = Espeak([50, 51], [150, 151])
    delivery = engine.draw(np.random.default_rng(0))
    assert "tract" not in delivery and "--path" not in engine.command("go", "m1", delivery, tmp_path / "o.wav")
    assert engine.say("go", "m1", delivery, tmp_path / "o.wav").returncode == 0 and (tmp_path / "o.wav").is_file()
