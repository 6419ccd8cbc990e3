"""A spoken-keyword set synthesised offline with espeak-ng: many voices, accents, pitches and speeds.

The clips are written once in the Speech Commands layout (``WORD/VOICE_n.wav`` plus ``validation_list.txt``
and ``testing_list.txt``) with a ``manifest.csv``, under a folder named by the settings, and then read like any
audio folder. Whole voices are held out for validation and test, so accuracy measures generalisation to
speakers the model never heard.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile
import torch
import torchaudio

from ..io import DataError
from .audio_folder import AudioFolderDataModule
from .folders import default_cache_dir

SPEECH_COMMANDS_WORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
ACCENTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc"]


def espeak_voices() -> list[str]:
    """The voice variants this espeak-ng knows (``en-us+NAME``), sorted."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise DataError("espeak-ng is not installed; on Debian: apt-get install espeak-ng (make does this as root)")
    listing = subprocess.run([exe, "--voices=variant"], capture_output=True, text=True, check=True).stdout
    return sorted({m.group(1) for line in listing.splitlines() if (m := re.search(r"!v/(\S+)\s*$", line))})


def synthesise(word: str, voice: str, accent: str, pitch: int, speed: int, rate: int) -> torch.Tensor:
    """One utterance as a mono float waveform (T,) at ``rate``."""
    cmd = ["espeak-ng", "-v", f"{accent}+{voice}", "-p", str(pitch), "-s", str(speed), "--stdout", word]
    out = subprocess.run(cmd, capture_output=True, check=True).stdout
    data, sr = soundfile.read(io.BytesIO(out), dtype="float32")
    clip = torch.from_numpy(data if data.ndim == 1 else data.mean(1))
    return torchaudio.functional.resample(clip, sr, rate) if sr != rate else clip


class SpokenKeywordsDataModule(AudioFolderDataModule):
    """Keyword spotting on speech synthesised with espeak-ng (deterministic for a seed, cached on disk).

    Args:
        words: the keywords (classes); default the ten Speech Commands words.
        voices: espeak-ng voice variants to use; default every variant installed.
        clips_per_voice: utterances of each word by each voice (accent, pitch and speed drawn per clip).
        held_out_voices: number of whole voices kept for validation, and as many again for test.
        pitch, speed: ranges for espeak-ng's ``-p`` (0-99) and ``-s`` (words per minute).
        root: where to write the set; default a folder under the cache named by the settings.
        **kwargs: see ``AudioFolderDataModule`` (sample_rate, seconds, batch_size, augment, ...).
    """

    def __init__(self, words: list[str] | None = None, voices: list[str] | None = None, clips_per_voice: int = 4,
                 held_out_voices: int = 12, pitch: list[int] = (25, 75), speed: list[int] = (120, 210),
                 root: str | None = None, **kwargs):
        self.words = list(words or SPEECH_COMMANDS_WORDS)
        if len(set(self.words)) != len(self.words) or not self.words:
            raise ValueError(f"SpokenKeywordsDataModule: words must be distinct and non-empty, got {self.words}")
        self.voices, self.clips_per_voice, self.held_out = voices, clips_per_voice, held_out_voices
        self.pitch, self.speed = list(pitch), list(speed)
        seed = kwargs.get("seed", 0)
        key = hashlib.sha256(json.dumps([self.words, voices, clips_per_voice, held_out_voices, self.pitch,
                                         self.speed, seed, kwargs.get("sample_rate", 16_000),
                                         kwargs.get("seconds", 1.0)]).encode()).hexdigest()[:16]
        cache = Path(kwargs.get("cache_dir") or default_cache_dir())
        super().__init__(root or str(cache / "spoken_keywords" / key), **kwargs)

    @property
    def class_names(self) -> list[str]:
        return sorted(self.words)

    def prepare_data(self) -> None:
        if not (self.root / "manifest.csv").is_file():
            self._write_set()
        super().prepare_data()

    def _write_set(self) -> None:
        from rich.progress import Progress

        voices = sorted(self.voices) if self.voices else espeak_voices()
        if len(voices) < 2 * self.held_out + 1:
            raise ValueError(f"SpokenKeywordsDataModule: {len(voices)} voices cannot hold out 2 x {self.held_out}")
        rng = np.random.default_rng(self.seed)
        order = [voices[i] for i in rng.permutation(len(voices))]
        split = {v: "val" for v in order[: self.held_out]} | {v: "test" for v in order[self.held_out : 2 * self.held_out]}
        jobs = []
        for word in self.words:
            for voice in voices:
                for n in range(self.clips_per_voice):
                    jobs.append((word, voice, n, ACCENTS[rng.integers(len(ACCENTS))], int(rng.integers(*self.pitch)),
                                 int(rng.integers(*self.speed)), float(rng.random())))
        length = int(round(self.seconds * self.sample_rate))
        tmp = self.root.with_name(self.root.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)

        def make(job):
            word, voice, n, accent, pitch, speed, place = job
            clip = synthesise(word, voice, accent, pitch, speed, self.sample_rate)
            clip = clip[:length]
            start = int(place * (length - len(clip)))  # where in the window the word falls
            out = torch.zeros(length)
            out[start : start + len(clip)] = clip
            path = tmp / word / f"{voice}_{n}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            soundfile.write(path, out.numpy(), self.sample_rate, subtype="PCM_16")
            return [f"{word}/{voice}_{n}.wav", word, voice, accent, pitch, speed, split.get(voice, "train")]

        with Progress(transient=True) as bar, ThreadPoolExecutor(4) as pool:
            task = bar.add_task(f"synthesising {len(jobs)} keyword clips with espeak-ng", total=len(jobs))
            rows = []
            for row in pool.map(make, jobs):
                rows.append(row)
                bar.advance(task)
        with open(tmp / "manifest.csv", "w", newline="") as f:
            csv.writer(f).writerows([["path", "word", "voice", "accent", "pitch", "speed", "split"], *rows])
        for name, which in (("validation_list.txt", "val"), ("testing_list.txt", "test")):
            (tmp / name).write_text("".join(f"{r[0]}\n" for r in rows if r[-1] == which))
        shutil.rmtree(self.root, ignore_errors=True)
        tmp.rename(self.root)  # complete sets only: an interrupted run leaves just the .partial folder
