"""The offline speech synthesisers behind ``SpokenKeywordsDataModule``: espeak-ng and flite (Debian packages).

Each engine lists its voices, draws a clip's delivery (pitch, speed, accent) from the datamodule's generator, and
says a word through its command line into a WAV file. Both are deterministic: the same text and settings give the
same samples.

Letters are spoken by name ("ay", "bee", "see", ...) when each engine gets the text in ``SPELLINGS``: both read a
lone letter as its name, except that flite reads "a" as the article (its vowel about half as long as in "ay";
espeak-ng reads "a" as the letter but "ay" as "aye"), so flite is given "ay". espeak-ng's British accents say
"zed" for z, its American ones "zee", as people do. ``tests/datamodules/test_speech_engines.py`` checks every
letter's phonemes in both engines.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

from ..io import DataError
from . import espeak_variants

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
LETTERS = list("abcdefghijklmnopqrstuvwxyz")
SPEECH_COMMANDS_WORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
WORD_SETS = {"speech_commands": SPEECH_COMMANDS_WORDS, "digits": DIGITS, "letters": LETTERS}

# The text an engine is given for a word, where the word itself is not what it should say.
SPELLINGS = {"espeak-ng": {}, "flite": {"a": "ay"}}

ESPEAK_ACCENTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029",
                  "en-us-nyc"]
FLITE_CLOCK_ONLY = {"awb_time"}  # says the time of day only


def _exe(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise DataError(f"{name} is not installed; on Debian: apt-get install {name} (make does this as root)")
    return exe


def _run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True)


class Espeak:
    """espeak-ng's voice variants (``en-us+NAME``), each clip in one of eight English accents, at a pitch (``-p``,
    0-99) and speed (``-s``, words per minute) drawn per clip; with ``tract`` (a range of formant frequency
    factors) each clip's variant also gets its formants moved, a new vocal tract per clip (``espeak_variants``),
    each formant by a further factor within ``1 +- tract_jitter``."""

    name = "espeak-ng"

    def __init__(self, pitch: list[int], speed: list[int], tract: list[float] | None = None,
                 tract_jitter: float = 0.0):
        self.pitch, self.speed, self.tract, self.tract_jitter = pitch, speed, tract, tract_jitter
        self.data: Path | None = None

    def prepare(self, scratch: Path) -> None:
        """Make the private data folder the moved variants are written into (only with ``tract``)."""
        if self.tract is not None:
            self.data = espeak_variants.private_data(scratch / "espeak-ng")

    def voices(self) -> list[str]:
        listing = subprocess.run([_exe("espeak-ng"), "--voices=variant"], capture_output=True, text=True,
                                 check=True).stdout
        return sorted({m.group(1) for line in listing.splitlines() if (m := re.search(r"!v/(\S+)\s*$", line))})

    def draw(self, rng: np.random.Generator) -> dict:
        delivery = {"accent": ESPEAK_ACCENTS[rng.integers(len(ESPEAK_ACCENTS))],
                    "pitch": int(rng.integers(*self.pitch)), "speed": int(rng.integers(*self.speed))}
        if self.tract is not None:
            delivery["tract"] = espeak_variants.draw_tract(rng, self.tract, self.tract_jitter)
        return delivery

    def say(self, text: str, voice: str, delivery: dict, out: Path) -> subprocess.CompletedProcess:
        """Say ``text`` into the WAV file ``out``; a moved tract's variant exists only meanwhile (espeak-ng lists
        at most 350 voices)."""
        if "tract" not in delivery:
            return _run(self.command(text, voice, delivery, out))
        if self.data is None:
            raise RuntimeError("Espeak.prepare(scratch) must run before a clip with a moved tract is said")
        variant = espeak_variants.write_variant(self.data, voice, delivery["tract"], f"bm-{out.stem}")
        try:
            return _run(self.command(text, variant, delivery, out, data=self.data))
        finally:
            espeak_variants.remove_variant(self.data, variant)

    def command(self, text: str, voice: str, delivery: dict, out: Path, data: Path | None = None) -> list[str]:
        """The command line; ``data``: a private data folder to find the voice in (``--path``)."""
        where = ["--path", str(data)] if data is not None else []
        return ["espeak-ng", *where, "-v", f"{delivery['accent']}+{voice}", "-p", str(delivery["pitch"]),
                "-s", str(delivery["speed"]), "-w", str(out), text]


class Flite:
    """flite's voices (kal and kal16, one diphone voice at 8 and 16 kHz; awb, rms, slt, statistical parametric),
    at a pitch factor on the voice's own (``f0_shift``; rms keeps its pitch) and a duration factor
    (``duration_stretch``, > 1 slower) drawn per clip."""

    name = "flite"

    def __init__(self, pitch: list[float], duration: list[float]):
        self.pitch, self.duration = pitch, duration

    def voices(self) -> list[str]:
        listing = subprocess.run([_exe("flite"), "-lv"], capture_output=True, text=True, check=True).stdout
        names = listing.split(":", 1)[-1].split()
        return sorted(set(names) - FLITE_CLOCK_ONLY)

    def prepare(self, scratch: Path) -> None:
        """Nothing to prepare."""

    def draw(self, rng: np.random.Generator) -> dict:
        return {"accent": "", "pitch": round(float(rng.uniform(*self.pitch)), 3),
                "speed": round(float(rng.uniform(*self.duration)), 3)}

    def say(self, text: str, voice: str, delivery: dict, out: Path) -> subprocess.CompletedProcess:
        """Say ``text`` into the WAV file ``out``."""
        return _run(self.command(text, voice, delivery, out))

    def command(self, text: str, voice: str, delivery: dict, out: Path) -> list[str]:
        return ["flite", "-voice", voice, "--setf", f"f0_shift={delivery['pitch']}",
                "--setf", f"duration_stretch={delivery['speed']}", "-t", text, "-o", str(out)]


ENGINES = {"espeak-ng": Espeak, "flite": Flite}


def spelling(engine: str, word: str) -> str:
    """The text ``engine`` is given to say ``word``."""
    return SPELLINGS[engine].get(word, word)
