"""A spoken-keyword set synthesised offline with espeak-ng and flite: many voices, accents, pitches and speeds.

The clips are written once in the Speech Commands layout (``WORD/ENGINE-VOICE_nohash_N.wav`` plus
``validation_list.txt`` and ``testing_list.txt``) with a ``manifest.csv``, under a folder named by the settings,
and then read like any audio folder. Whole voices are held out for validation and test, so accuracy measures
generalisation to speakers the model never heard; ``splits`` can hold out a whole engine (train on espeak-ng,
test on flite), the measured proxy for speech the model will meet.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile
import torch
import torchaudio

from ..io import DataError
from .audio_folder import AudioFolderDataModule
from .folders import HOST, default_cache_dir, remove_stale_temp_files
from .speech_engines import ENGINES, SPEECH_COMMANDS_WORDS, SPELLINGS, WORD_SETS, spelling

SPLITS = ("train", "val", "test")
SILENCE = 0.01  # leading and trailing samples below this fraction of the peak are cut before the word is placed
MARGIN_S = 0.01  # kept around the word


class SpokenKeywordsDataModule(AudioFolderDataModule):
    """Keyword spotting on synthesised speech (deterministic for a seed, cached on disk).

    Args:
        words: the keywords (classes), or a named set: ``speech_commands`` (the default ten), ``digits``
            (zero ... nine) or ``letters`` (a ... z, spoken as letter names; see ``speech_engines``).
        engines: the synthesisers, from ``espeak-ng`` and ``flite``; default ``[espeak-ng]``.
        voices: voices to use, as ``ENGINE:VOICE`` or a plain voice name (``m1``, ``slt``); default every voice
            of each engine (flite's clock-only ``awb_time`` excepted).
        splits: which voices each split takes: ``{train: [...], val: [...], test: [...]}``, each a list of
            engines and voices. An engine listed by ``train`` gives ``held_out_voices`` of its voices to each
            other split that lists it and trains on the rest; one listed only by held-out splits is divided
            evenly between them; a voice named alone goes to its split only. Default: every engine in every
            split. ``{train: [espeak-ng], val: [espeak-ng], test: [flite]}`` tests on flite voices alone.
        clips_per_voice: utterances of each word by each voice (delivery drawn per clip).
        held_out_voices: whole voices an engine gives each held-out split it shares with ``train``; a number
            for every engine or a mapping ``{engine: number}``.
        pitch, speed: espeak-ng's ``-p`` (0-99) and ``-s`` (words per minute) ranges.
        tract: a range of formant frequency factors, e.g. ``[0.85, 1.2]``: each espeak-ng clip is said by its
            voice with every formant moved by one factor drawn from it (a longer or shorter vocal tract), times
            one within ``1 +- tract_jitter`` per formant (the tract's shape), so no two clips share a voice.
            Default ``None``: the installed voices as they are.
        flite_pitch, flite_duration: flite's pitch factor (``f0_shift``) and duration factor
            (``duration_stretch``, > 1 slower) ranges.
        root: where to write the set; default a folder under the cache named by the settings.
        **kwargs: see ``AudioFolderDataModule`` (sample_rate, seconds, batch_size, augment, test_root, ...).
    """

    def __init__(self, words: list[str] | str | None = None, engines: list[str] | None = None,
                 voices: list[str] | None = None, splits: dict[str, list[str]] | None = None,
                 clips_per_voice: int = 4, held_out_voices: int | dict[str, int] = 12,
                 pitch: list[int] = (25, 75), speed: list[int] = (120, 210),
                 tract: list[float] | None = None, tract_jitter: float = 0.05,
                 flite_pitch: list[float] = (0.85, 1.2), flite_duration: list[float] = (0.85, 1.2),
                 root: str | None = None, **kwargs):
        self.words = self._words(words)
        self.engines = self._engines(engines)
        self.voice_splits = self._splits(splits)
        self.held_out = self._held_out(held_out_voices)
        self.voices, self.clips_per_voice = voices, clips_per_voice
        self.pitch, self.speed = list(pitch), list(speed)
        self.flite_pitch, self.flite_duration = list(flite_pitch), list(flite_duration)
        self.tract, self.tract_jitter = self._tract(tract, tract_jitter)
        settings = [2, self.words, self.engines, voices, self.voice_splits, clips_per_voice, self.held_out, self.pitch,
                    self.speed, self.flite_pitch, self.flite_duration, {e: SPELLINGS[e] for e in self.engines},
                    kwargs.get("seed", 0), kwargs.get("sample_rate", 16_000), kwargs.get("seconds", 1.0)]
        if self.tract is not None:  # sets made without it keep their folder
            settings.append([self.tract, self.tract_jitter])
        key = hashlib.sha256(json.dumps(settings).encode()).hexdigest()[:16]
        cache = Path(kwargs.get("cache_dir") or default_cache_dir())
        super().__init__(root or str(cache / "spoken_keywords" / key), **kwargs)

    # ---- settings, checked when the datamodule is built ---------------------------------------------
    def _error(self, setting: str, message: str) -> ValueError:
        return ValueError(f"{type(self).__name__}.{setting}: {message}")

    def _words(self, words) -> list[str]:
        if isinstance(words, str):
            if words not in WORD_SETS:
                raise self._error("words", f"no word set {words!r}; give a list or one of {', '.join(WORD_SETS)}")
            words = WORD_SETS[words]
        words = [str(w) for w in (words or SPEECH_COMMANDS_WORDS)]
        if len(set(words)) != len(words) or not words:
            raise self._error("words", f"words must be distinct and non-empty, got {words}")
        return words

    def _engines(self, engines) -> list[str]:
        engines = list(engines or ["espeak-ng"])
        unknown = [e for e in engines if e not in ENGINES]
        if unknown or len(set(engines)) != len(engines):
            raise self._error("engines", f"got {engines}; give distinct engines from {', '.join(ENGINES)}")
        return engines

    def _splits(self, splits) -> dict[str, list[str]] | None:
        if splits is None:
            return None
        if not isinstance(splits, dict) or set(splits) != set(SPLITS):
            raise self._error("splits", f"needs exactly the keys train, val and test, got {sorted(splits or {})}")
        out = {}
        for split in SPLITS:
            names = [splits[split]] if isinstance(splits[split], str) else list(splits[split] or [])
            if not names:
                raise self._error(f"splits.{split}", "is empty; list engines or voices")
            outside = [n for n in names if n in ENGINES and n not in self.engines]
            if outside:
                raise self._error(f"splits.{split}", f"names {outside}, not in engines {self.engines}; add it there")
            out[split] = [str(n) for n in names]
        return out

    def _tract(self, tract, jitter) -> tuple[list[float] | None, float]:
        if tract is not None:
            if len(tract) != 2 or not 0.5 <= float(tract[0]) <= float(tract[1]) <= 2.0:
                raise self._error("tract", f"needs [low, high] formant factors within 0.5-2.0, got {tract}")
            tract = [float(t) for t in tract]
        if not 0 <= float(jitter) < 0.5:
            raise self._error("tract_jitter", f"needs a fraction in [0, 0.5), got {jitter}")
        return tract, float(jitter)

    def _held_out(self, held) -> dict[str, int]:
        counts = held if isinstance(held, dict) else {e: held for e in self.engines}
        extra = sorted(set(counts) - set(self.engines))
        if extra:
            raise self._error("held_out_voices", f"names {extra}, not in engines {self.engines}")
        bad = {e: n for e, n in counts.items() if not isinstance(n, int) or n < 0}
        if bad:
            raise self._error("held_out_voices", f"counts must be whole numbers >= 0, got {bad}")
        return {e: counts.get(e, 0) for e in self.engines}

    # ---- voices and splits, once the engines are asked ----------------------------------------------
    def engine(self, name: str):
        if name == "espeak-ng":
            return ENGINES[name](self.pitch, self.speed, self.tract, self.tract_jitter)
        return ENGINES[name](self.flite_pitch, self.flite_duration)

    def voice_table(self) -> dict[str, list[str]]:
        """engine -> its voices in use, sorted."""
        installed = {e: self.engine(e).voices() for e in self.engines}
        if self.voices is None:
            return installed
        chosen: dict[str, set[str]] = {e: set() for e in self.engines}
        for name in self.voices:
            engine, voice = self._resolve(name, installed, "voices")
            chosen[engine].add(voice)
        return {e: sorted(v) for e, v in chosen.items()}

    def _resolve(self, name: str, table: dict[str, list[str]], setting: str) -> tuple[str, str]:
        """``ENGINE:VOICE`` or a plain voice name -> (engine, voice), refused naming ``setting`` if unknown."""
        engine, _, voice = name.rpartition(":")
        if engine and engine not in table:
            raise self._error(setting, f"{name!r}: {engine} is not in engines {self.engines}")
        found = [engine] if engine else [e for e in table if voice in table[e]]
        if not found or voice not in table[found[0]]:
            have = "; ".join(f"{e} has {', '.join(v)}" for e, v in table.items())
            raise self._error(setting, f"unknown voice {name!r}; {have}")
        if len(found) > 1:
            raise self._error(setting, f"{name!r} is a voice of {' and '.join(found)}; write ENGINE:{name}")
        return found[0], voice

    def assign(self, table: dict[str, list[str]], rng: np.random.Generator) -> dict[tuple[str, str], str]:
        """(engine, voice) -> split, whole voices per split (see ``splits``)."""
        splits = self.voice_splits or {s: list(self.engines) for s in SPLITS}
        where: dict[tuple[str, str], str] = {}
        sharing: dict[str, list[str]] = {e: [] for e in self.engines}
        for split in SPLITS:
            for name in splits[split]:
                if name in ENGINES:
                    sharing[name].append(split)
                    continue
                voice = self._resolve(name, table, f"splits.{split}")
                if voice in where:
                    raise self._error("splits", f"{name!r} is in both splits.{where[voice]} and splits.{split}")
                where[voice] = split
        for engine in self.engines:
            left = [(engine, v) for v in table[engine] if (engine, v) not in where]
            if not sharing[engine]:
                continue
            order = [left[i] for i in rng.permutation(len(left))]
            if "train" in sharing[engine]:
                held, others = self.held_out[engine], [s for s in sharing[engine] if s != "train"]
                if len(order) < held * len(others) + 1:
                    raise self._error("held_out_voices", f"{len(order)} {engine} voices cannot hold out "
                                                         f"{len(others)} x {held} and train on the rest")
                for k, split in enumerate(others):
                    where.update({v: split for v in order[k * held : (k + 1) * held]})
                where.update({v: "train" for v in order[len(others) * held :]})
            else:
                if len(order) < len(sharing[engine]):
                    raise self._error("splits", f"{len(order)} {engine} voices cannot be shared by "
                                                f"{' and '.join(sharing[engine])}")
                where.update({v: sharing[engine][i % len(sharing[engine])] for i, v in enumerate(order)})
        for split in SPLITS:
            if split not in where.values():
                raise self._error("splits", f"the {split} split has no voices")
        return where

    # ---- the set on disk ----------------------------------------------------------------------------
    @property
    def class_names(self) -> list[str]:
        return sorted(self.words)

    def prepare_data(self) -> None:
        if not self.only_tests() and not (self.root / "manifest.csv").is_file():
            self._write_set()
        super().prepare_data()

    def _write_set(self) -> None:
        from rich.progress import Progress

        table = self.voice_table()
        rng = np.random.default_rng(self.seed)
        where = self.assign(table, rng)
        engines = {e: self.engine(e) for e in self.engines}
        jobs = []
        for word in self.words:
            for engine in self.engines:
                for voice in table[engine]:
                    if (engine, voice) in where:
                        for n in range(self.clips_per_voice):
                            jobs.append((word, engine, voice, n, engines[engine].draw(rng), float(rng.random())))
        length = int(round(self.seconds * self.sample_rate))
        # this process's own folder (as the decoded caches): two runs writing the same set at once do not meet
        tmp = self.root.with_name(f"{self.root.name}.tmp{os.getpid()}@{HOST}")
        self.root.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temp_files(self.root.parent)
        shutil.rmtree(self.root.with_name(f"{self.root.name}.partial"), ignore_errors=True)  # where older code wrote
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / ".scratch").mkdir(parents=True)
        for engine in engines.values():
            engine.prepare(tmp / ".scratch")

        def make(i_job):
            i, (word, engine, voice, n, delivery, place) = i_job
            text = spelling(engine, word)
            clip = self._say(engines[engine], text, voice, delivery, tmp / ".scratch" / f"{i}.wav")[:length]
            start = int(place * (length - len(clip)))  # where in the window the word falls
            out = torch.zeros(length)
            out[start : start + len(clip)] = clip
            name = f"{word}/{engine}-{voice}_nohash_{n}.wav"
            (tmp / word).mkdir(exist_ok=True)
            soundfile.write(tmp / name, out.numpy(), self.sample_rate, subtype="PCM_16")
            tract = " ".join(str(f) for f in delivery.get("tract", []))
            return [name, word, text, engine, voice, delivery["accent"], delivery["pitch"], delivery["speed"],
                    tract, where[engine, voice]]

        with Progress(transient=True) as bar, ThreadPoolExecutor(4) as pool:
            task = bar.add_task(f"synthesising {len(jobs)} keyword clips with {', '.join(self.engines)}",
                                total=len(jobs))
            rows = []
            for row in pool.map(make, enumerate(jobs)):
                rows.append(row)
                bar.advance(task)
        shutil.rmtree(tmp / ".scratch")
        with open(tmp / "manifest.csv", "w", newline="") as f:
            header = ["path", "word", "text", "engine", "voice", "accent", "pitch", "speed", "tract", "split"]
            csv.writer(f).writerows([header, *rows])
        for name, which in (("validation_list.txt", "val"), ("testing_list.txt", "test")):
            (tmp / name).write_text("".join(f"{r[0]}\n" for r in rows if r[-1] == which))
        publish(tmp, self.root)

    def _say(self, engine, text: str, voice: str, delivery: dict, scratch: Path) -> torch.Tensor:
        """One utterance as a mono waveform (T,) at the datamodule's rate, silence before and after cut."""
        run = engine.say(text, voice, delivery, scratch)
        if run.returncode != 0 or not scratch.is_file():
            raise DataError(f"{engine.name} failed to say {text!r} as voice {voice} ({delivery}): "
                            f"{run.stderr.strip() or f'exit status {run.returncode}'}")
        data, rate = soundfile.read(scratch, dtype="float32", always_2d=True)
        scratch.unlink()
        clip = torch.from_numpy(data.mean(1))
        if rate != self.sample_rate:
            clip = torchaudio.functional.resample(clip, rate, self.sample_rate)
        return trim_silence(clip, self.sample_rate)


def publish(tmp: Path, root: Path) -> None:
    """Rename the complete set ``tmp`` to ``root`` (only complete sets get there: an interrupted run leaves its
    temporary folder, removed by the next run once its process has gone). If another run wrote the same set there
    first (same settings, so the same clips), that one stays and ``tmp`` is dropped."""
    if root.exists() and not (root / "manifest.csv").is_file():
        shutil.rmtree(root)  # not a complete set
    try:
        tmp.rename(root)
    except OSError:
        if not (root / "manifest.csv").is_file():
            raise
        shutil.rmtree(tmp)


def trim_silence(clip: torch.Tensor, rate: int) -> torch.Tensor:
    """The clip from MARGIN_S before its first to MARGIN_S after its last sample above SILENCE of its peak (the
    engines add different pauses: flite about 0.2 s before the word)."""
    loud = torch.nonzero(clip.abs() > SILENCE * clip.abs().max()).flatten()
    if len(loud) == 0:
        return clip
    margin = int(MARGIN_S * rate)
    return clip[max(0, int(loud[0]) - margin) : int(loud[-1]) + margin + 1]
