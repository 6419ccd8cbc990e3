"""Both engines say the 26 letters as letter names with the texts of ``SPELLINGS``: their phonemes, and the
length of the "a" (an ear's proxy: flite reads a bare "a" as the article)."""
import io
import shutil
import subprocess

import numpy as np
import pytest
import soundfile

from blackmagic.datamodules.speech_engines import LETTERS, spelling

ESPEAK = dict(zip(LETTERS, ["'eI", "b'i:", "s'i:", "d'i:", "'i:", "'Ef", "dZ'i:", "'eItS", "'aI", "dZ'eI", "k'eI", "'El",
                            "'Em", "'En", "'oU", "p'i:", "kj'u:", "'A@", "'Es", "t'i:", "j'u:", "v'i:", "d'Vb@Lj,u:",
                            "'Eks", "w'aI", "z'i:"]))
FLITE = dict(zip(LETTERS, ["ey", "b iy", "s iy", "d iy", "iy", "eh f", "jh iy", "ey ch", "ay", "jh ey", "k ey", "eh l",
                           "eh m", "eh n", "ow", "p iy", "k y uw", "aa r", "eh s", "t iy", "y uw", "v iy",
                           "d ah b ax l y uw", "eh k s", "w ay", "z iy"]))
espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
flite = pytest.mark.skipif(shutil.which("flite") is None, reason="flite is not installed")


def espeak_phonemes(text):
    return subprocess.run(["espeak-ng", "-q", "-x", "-v", "en-us", text], capture_output=True, text=True,
                          check=True).stdout.strip()


def flite_phonemes(text):
    out = subprocess.run(["flite", "-voice", "slt", "-ps", "-t", text, "none"], capture_output=True, text=True,
                         check=True).stdout
    return " ".join(p for p in out.split() if p != "pau")


def voiced_seconds(wav: bytes) -> float:
    """From the first to the last sample above 2% of the peak."""
    data, rate = soundfile.read(io.BytesIO(wav))
    loud = np.flatnonzero(np.abs(data) > 0.02 * np.abs(data).max())
    return (loud[-1] - loud[0]) / rate


def espeak_wav(text):
    return subprocess.run(["espeak-ng", "-v", "en-us", "--stdout", text], capture_output=True, check=True).stdout


def flite_wav(text, tmp_path):
    out = tmp_path / "say.wav"
    subprocess.run(["flite", "-voice", "slt", "-t", text, "-o", str(out)], check=True)
    return out.read_bytes()


@espeak
def test_espeak_ng_says_every_letter_name():
    said = {letter: espeak_phonemes(spelling("espeak-ng", letter)) for letter in LETTERS}
    assert said == ESPEAK
    assert espeak_phonemes("ay") == "'aI", "espeak-ng reads 'ay' as 'aye': it must get the bare letter"
    assert espeak_wav(spelling("espeak-ng", "a")) == espeak_wav("A"), "the lone 'a' is the letter, as 'A' is"


@flite
def test_flite_says_every_letter_name():
    said = {letter: flite_phonemes(spelling("flite", letter)) for letter in LETTERS}
    assert said == FLITE


@flite
def test_flite_gets_ay_because_it_reads_a_bare_a_as_the_article(tmp_path):
    article = voiced_seconds(flite_wav("a", tmp_path))
    letter = voiced_seconds(flite_wav(spelling("flite", "a"), tmp_path))
    others = np.median([voiced_seconds(flite_wav(v, tmp_path)) for v in ("e", "i", "o")])
    assert letter > 1.5 * article, (letter, article)
    assert 0.7 * others < letter < 1.5 * others, (letter, others)  # as long as the other vowels' names


@espeak
def test_espeak_ng_a_is_as_long_as_the_other_vowel_names():
    others = np.median([voiced_seconds(espeak_wav(v)) for v in ("e", "i", "o")])
    assert 0.7 * others < voiced_seconds(espeak_wav(spelling("espeak-ng", "a"))) < 1.5 * others
