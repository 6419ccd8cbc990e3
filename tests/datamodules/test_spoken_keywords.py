import csv
import shutil

import pytest
import torch

from blackmagic.datamodules import SpokenKeywordsDataModule

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")

VOICES = ["m1", "m2", "f1", "f2", "croak", "klatt"]


def small(tmp_path, name, seed=0):
    return SpokenKeywordsDataModule(words=["yes", "no"], voices=VOICES, clips_per_voice=2, held_out_voices=1,
                                    seed=seed, root=str(tmp_path / name), cache_dir=str(tmp_path / "cache"),
                                    batch_size=4)


def test_synthesised_set_holds_out_whole_voices_and_is_deterministic(tmp_path):
    dm = small(tmp_path, "a")
    dm.prepare_data()
    dm.setup("fit")
    rows = list(csv.DictReader(open(dm.root / "manifest.csv")))
    assert len(rows) == 2 * len(VOICES) * 2
    voices = {s: {r["voice"] for r in rows if r["split"] == s} for s in ("train", "val", "test")}
    assert len(voices["val"]) == len(voices["test"]) == 1 and len(voices["train"]) == 4
    assert not (voices["val"] | voices["test"]) & voices["train"], "a held-out voice also trains"
    assert [len(dm.splits[s]) for s in ("train", "val", "test")] == [16, 4, 4]
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (4, 1, 16000) and dm.class_names == ["no", "yes"]
    assert x.abs().amax(-1).min() > 1000, "a clip is silent"

    again = small(tmp_path, "b")
    again.prepare_data()
    again.setup("fit")
    assert torch.equal(torch.from_numpy(again.splits["train"].x[:]), torch.from_numpy(dm.splits["train"].x[:]))
    assert (dm.root / "validation_list.txt").read_text() == (again.root / "validation_list.txt").read_text()
    assert not list(tmp_path.glob("*.partial"))


def test_bad_settings_are_refused(tmp_path):
    with pytest.raises(ValueError, match="distinct"):
        SpokenKeywordsDataModule(words=["yes", "yes"], root=str(tmp_path / "x"))
    dm = SpokenKeywordsDataModule(words=["yes"], voices=["m1", "m2"], held_out_voices=1, root=str(tmp_path / "y"))
    with pytest.raises(ValueError, match="2 voices cannot hold out 2 x 1"):
        dm.prepare_data()
