import csv
import multiprocessing
import shutil

import numpy as np
import pytest
import soundfile
import torch

from blackmagic.datamodules import AudioFolderDataModule, SpokenKeywordsDataModule
from blackmagic.datamodules.folders import HOST

from .test_base import stub_trainer

HAVE_FLITE = shutil.which("flite") is not None
pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
needs_flite = pytest.mark.skipif(not HAVE_FLITE, reason="flite is not installed")

VOICES = ["m1", "m2", "f1", "f2", "croak", "klatt"]
TRANSFER = {"train": ["espeak-ng"], "val": ["espeak-ng"], "test": ["flite"]}


def small(tmp_path, name, seed=0, **kw):
    settings = dict(words=["yes", "no"], voices=VOICES, clips_per_voice=2, held_out_voices=1, seed=seed,
                    root=str(tmp_path / name), cache_dir=str(tmp_path / "cache"), batch_size=4)
    return SpokenKeywordsDataModule(**(settings | kw))


def manifest(dm):
    return list(csv.DictReader(open(dm.root / "manifest.csv")))


def test_synthesised_set_holds_out_whole_voices_and_is_deterministic(tmp_path):
    dm = small(tmp_path, "a")
    dm.prepare_data()
    dm.setup("fit")
    rows = manifest(dm)
    assert len(rows) == 2 * len(VOICES) * 2
    voices = {s: {r["voice"] for r in rows if r["split"] == s} for s in ("train", "val", "test")}
    assert len(voices["val"]) == len(voices["test"]) == 1 and len(voices["train"]) == 4
    assert not (voices["val"] | voices["test"]) & voices["train"], "a held-out voice also trains"
    assert [len(dm.splits[s]) for s in ("train", "val", "test")] == [16, 4, 4]
    assert all(r["path"] == f"{r['word']}/espeak-ng-{r['voice']}_nohash_{r['path'][-5]}.wav" for r in rows)
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (4, 1, 16000) and dm.class_names == ["no", "yes"]
    assert x.abs().amax(-1).min() > 1000, "a clip is silent"

    again = small(tmp_path, "b")
    again.prepare_data()
    again.setup("fit")
    assert torch.equal(torch.from_numpy(again.splits["train"].x[:]), torch.from_numpy(dm.splits["train"].x[:]))
    assert (dm.root / "validation_list.txt").read_text() == (again.root / "validation_list.txt").read_text()
    assert not list(tmp_path.glob("*.tmp*"))


def _prepare(tmp_path, name, start):
    dm = small(tmp_path, name)
    start.wait()  # both processes are up: they write at once
    dm.prepare_data()


def test_two_runs_writing_the_same_set_at_once_both_get_it_whole(tmp_path):
    """Two trainings started together with one cache (two seeds of a recipe) synthesise the same set: neither may
    pull the other's half-written folder away."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    runs = [context.Process(target=_prepare, args=(tmp_path, "shared", start)) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=300)
    assert [run.exitcode for run in runs] == [0, 0]
    dm = small(tmp_path, "shared")
    assert len(manifest(dm)) == 2 * len(VOICES) * 2 and all((dm.root / r["path"]).is_file() for r in manifest(dm))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("shared")] == ["shared"]


def test_what_a_killed_run_left_is_removed_by_the_next(tmp_path):
    dm = small(tmp_path, "a")
    left = tmp_path / f"a.tmp{2 ** 22 + 12345}@{HOST}"  # above Linux's largest pid: that process is gone
    (left / "yes").mkdir(parents=True)
    legacy = tmp_path / "a.partial"  # where earlier versions wrote the set
    (legacy / "yes").mkdir(parents=True)
    dm.prepare_data()
    assert not left.exists() and not legacy.exists() and manifest(dm)


def test_silence_is_trimmed_and_the_word_placed_anywhere_in_the_window(tmp_path):
    dm = small(tmp_path, "a", clips_per_voice=3)
    dm.prepare_data()
    starts = []
    for r in manifest(dm):
        clip, _ = soundfile.read(dm.root / r["path"])
        loud = np.flatnonzero(np.abs(clip) > 0.01 * np.abs(clip).max())
        starts.append(loud[0] / 16000)
    assert min(starts) < 0.1 and max(starts) > 0.3, "words should start early and late in the window"


@needs_flite
def test_engines_and_splits_train_on_espeak_and_test_on_flite_voices(tmp_path):
    dm = small(tmp_path, "t", engines=["espeak-ng", "flite"], voices=["m1", "m2", "f1", "flite:slt", "awb"],
               splits=TRANSFER, held_out_voices={"espeak-ng": 1})
    dm.prepare_data()
    rows = manifest(dm)
    by_split = {s: {(r["engine"], r["voice"]) for r in rows if r["split"] == s} for s in ("train", "val", "test")}
    assert by_split["test"] == {("flite", "slt"), ("flite", "awb")}
    assert {e for e, _ in by_split["train"] | by_split["val"]} == {"espeak-ng"}
    assert len(by_split["val"]) == 1 and len(by_split["train"]) == 2
    flite = [r for r in rows if r["engine"] == "flite"]
    assert all(r["accent"] == "" and 0.85 <= float(r["pitch"]) <= 1.2 and 0.85 <= float(r["speed"]) <= 1.2
               for r in flite), "flite draws a pitch and a duration factor per clip"
    assert len({r["pitch"] for r in flite}) == len(flite)
    again = small(tmp_path, "t2", engines=["espeak-ng", "flite"], voices=["m1", "m2", "f1", "flite:slt", "awb"],
                  splits=TRANSFER, held_out_voices={"espeak-ng": 1})
    again.prepare_data()
    for r in flite:  # flite too is deterministic for a seed
        assert (dm.root / r["path"]).read_bytes() == (again.root / r["path"]).read_bytes()


@needs_flite
def test_voices_named_in_a_split_and_engines_shared_by_held_out_splits(tmp_path):
    dm = small(tmp_path, "v", words=["go"], engines=["espeak-ng", "flite"],
               voices=["m1", "m2", "f1", "slt", "awb", "kal"],
               splits={"train": ["espeak-ng"], "val": ["flite:kal"], "test": ["flite"]}, held_out_voices=0)
    dm.prepare_data()
    split = {r["voice"]: r["split"] for r in manifest(dm)}
    assert split == {"m1": "train", "m2": "train", "f1": "train", "kal": "val", "slt": "test", "awb": "test"}
    shared = small(tmp_path, "w", words=["go"], engines=["flite"], voices=["slt", "awb", "kal", "rms"],
                   splits={"train": ["flite:slt"], "val": ["flite"], "test": ["flite"]})
    shared.prepare_data()
    counts = {s: len({r["voice"] for r in manifest(shared) if r["split"] == s}) for s in ("train", "val", "test")}
    assert counts == {"train": 1, "val": 2, "test": 1} or counts == {"train": 1, "val": 1, "test": 2}


def test_every_setting_changes_the_cache_folder(tmp_path):
    base = dict(words=["yes"], voices=["m1", "m2", "m3"], held_out_voices=1, cache_dir=str(tmp_path))
    roots = {SpokenKeywordsDataModule(**(base | change)).root for change in (
        {}, {"engines": ["espeak-ng", "flite"]}, {"splits": {"train": ["m1"], "val": ["m2"], "test": ["m3"]}},
        {"flite_pitch": [0.9, 1.1]}, {"flite_duration": [0.9, 1.1]}, {"pitch": [20, 80]}, {"speed": [100, 200]},
        {"clips_per_voice": 3}, {"seed": 1}, {"sample_rate": 8000}, {"seconds": 0.8}, {"words": ["no"]})}
    assert len(roots) == 12


def test_word_sets_by_name():
    assert SpokenKeywordsDataModule(words="digits").class_names == sorted(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    assert SpokenKeywordsDataModule(words="letters").class_names == list("abcdefghijklmnopqrstuvwxyz")
    assert len(SpokenKeywordsDataModule().class_names) == 10


@pytest.mark.parametrize("settings,message", [
    ({"words": ["yes", "yes"]}, "SpokenKeywordsDataModule.words: words must be distinct"),
    ({"words": "numbers"}, "SpokenKeywordsDataModule.words: no word set 'numbers'"),
    ({"engines": ["espeak-ng", "festival"]}, "SpokenKeywordsDataModule.engines: .* from espeak-ng, flite"),
    ({"splits": {"train": ["espeak-ng"], "test": ["espeak-ng"]}}, "SpokenKeywordsDataModule.splits: needs exactly"),
    ({"splits": {"train": ["espeak-ng"], "val": ["espeak-ng"], "test": ["flite"]}},
     r"SpokenKeywordsDataModule.splits.test: names \['flite'\], not in engines \['espeak-ng'\]"),
    ({"splits": {"train": ["espeak-ng"], "val": [], "test": ["m1"]}}, "SpokenKeywordsDataModule.splits.val: is empty"),
    ({"held_out_voices": {"flite": 1}}, "SpokenKeywordsDataModule.held_out_voices: names"),
    ({"held_out_voices": -1}, "SpokenKeywordsDataModule.held_out_voices: counts must be whole numbers"),
])
def test_bad_settings_are_refused_when_built(settings, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        SpokenKeywordsDataModule(root=str(tmp_path / "x"), **settings)


@pytest.mark.parametrize("settings,message", [
    ({"voices": ["m1", "m2"], "held_out_voices": 1}, "held_out_voices: 2 espeak-ng voices cannot hold out 2 x 1"),
    ({"voices": ["m1", "nobody"]}, "SpokenKeywordsDataModule.voices: unknown voice 'nobody'; espeak-ng has"),
    ({"voices": ["flite:slt"]}, "SpokenKeywordsDataModule.voices: 'flite:slt': flite is not in engines"),
    ({"voices": ["m1", "m2", "m3"], "splits": {"train": ["m1"], "val": ["m2"], "test": ["m2"]}},
     "SpokenKeywordsDataModule.splits: 'm2' is in both splits.val and splits.test"),
    ({"voices": ["m1", "m2", "m3"], "splits": {"train": ["m1"], "val": ["m2"], "test": ["m4"]}},
     "SpokenKeywordsDataModule.splits.test: unknown voice 'm4'; espeak-ng has m1, m2, m3$"),
])
def test_bad_voices_are_refused_before_anything_is_synthesised(settings, message, tmp_path):
    dm = SpokenKeywordsDataModule(words=["yes"], root=str(tmp_path / "y"), **settings)
    with pytest.raises(ValueError, match=message):
        dm.prepare_data()
    assert not (tmp_path / "y").exists()


@needs_flite
def test_the_clock_only_flite_voice_is_not_a_voice(tmp_path):
    dm = SpokenKeywordsDataModule(words=["yes"], engines=["flite"], voices=["awb_time"], root=str(tmp_path / "z"))
    with pytest.raises(ValueError, match="unknown voice 'awb_time'; flite has awb, kal, kal16, rms, slt"):
        dm.prepare_data()


def tone_folder(root, classes, speakers=("ann", "bob")):
    for c, freq in classes.items():
        (root / c).mkdir(parents=True)
        for s in speakers:
            t = np.arange(8000) / 16000
            soundfile.write(root / c / f"{s}_nohash_0.wav", 0.5 * np.sin(2 * np.pi * freq * t), 16000)
    return root


def test_a_test_run_on_test_root_reads_that_folder_and_synthesises_nothing(tmp_path):
    folder = tone_folder(tmp_path / "rec", {"yes": 300, "no": 600})
    dm = small(tmp_path, "never", test_root=str(folder))
    dm.trainer = stub_trainer(testing=True)
    dm.prepare_data()
    dm.setup("test")
    assert not (tmp_path / "never").exists(), "a test run synthesised the training set"
    assert set(dm.splits) == {"test"} and len(dm.splits["test"]) == 4
    assert dm.splits["test"].y.tolist() == [0, 0, 1, 1]  # no, no, yes, yes in the class order ["no", "yes"]
    assert [f.name for f in dm.test_files] == ["ann_nohash_0.wav", "bob_nohash_0.wav"] * 2


def test_test_root_alone_needs_no_train_split_and_refuses_to_fit(tmp_path):
    folder = tone_folder(tmp_path / "rec", {"low": 200, "high": 900, "mid": 500})
    dm = AudioFolderDataModule(None, test_root=str(folder), cache_dir=str(tmp_path / "c"), batch_size=2)
    assert dm.class_names == ["high", "low", "mid"]
    dm.prepare_data()
    dm.setup("test")
    x, y = next(iter(dm.test_dataloader()[0]))
    assert x.shape == (4, 1, 16000) and y.tolist() == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="root is null, so there is nothing to fit on"):
        AudioFolderDataModule(None, test_root=str(folder)).setup("fit")
    with pytest.raises(ValueError, match="give root .*, test_root .*, or both"):
        AudioFolderDataModule(None)


def test_test_root_replaces_the_test_split_and_maps_classes_by_name(tmp_path):
    root = tone_folder(tmp_path / "train", {"high": 900, "low": 200, "mid": 500}, speakers=[f"s{i}" for i in range(10)])
    folder = tone_folder(tmp_path / "rec", {"mid": 500, "low": 200})
    dm = AudioFolderDataModule(str(root), test_root=str(folder), cache_dir=str(tmp_path / "c"), val_fraction=0.2)
    dm.prepare_data()
    dm.setup("fit")
    assert [len(dm.splits[s]) for s in ("train", "val", "test")] == [24, 6, 4]
    assert dm.splits["test"].y.tolist() == [1, 1, 2, 2], "labels follow the root's classes, by name"
    (folder / "loud").mkdir()
    soundfile.write(folder / "loud" / "x.wav", np.ones(100) * 0.1, 16000)
    with pytest.raises(Exception, match=r"rec: class folders \['loud'\] are not classes of this datamodule"):
        AudioFolderDataModule(str(root), test_root=str(folder)).files
    split = tmp_path / "split"
    for d in ("train", "val", "test"):
        tone_folder(split / d, {"low": 200})
    with pytest.raises(Exception, match="holds train/val/test folders.*point test_root at it"):
        AudioFolderDataModule(None, test_root=str(split)).class_names
