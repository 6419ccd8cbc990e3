import numpy as np
import pytest
import torch
from PIL import Image

from blackmagic.datamodules import ImageFolderDataModule
from blackmagic.io import DataError


def make_tree(root, classes=("cat", "dog"), per_class=10, size=(20, 24), modes=("RGB", "L", "RGBA", "P")):
    rng = np.random.default_rng(0)
    for c in classes:
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            mode = modes[i % len(modes)]
            arr = rng.integers(0, 255, (size[0], size[1], 3), dtype=np.uint8)
            img = Image.fromarray(arr).convert(mode)
            img.save(root / c / f"{i}.{'jpg' if mode in ('RGB', 'L') and i % 2 else 'png'}")
    return root


def test_mixed_modes_become_one_layout_with_a_seeded_stratified_split(tmp_path):
    root = make_tree(tmp_path / "imgs")
    dm = ImageFolderDataModule(str(root), size=16, channels=3, cache_dir=str(tmp_path / "cache"), batch_size=4)
    assert dm.class_names == ["cat", "dog"] and dm.channels == 3
    dm.prepare_data()
    dm.setup("fit")
    sizes = {s: len(dm.splits[s]) for s in ("train", "val", "test")}
    assert sizes == {"train": 16, "val": 2, "test": 2}
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (4, 3, 16, 16) and x.dtype == torch.uint8
    grey = ImageFolderDataModule(str(root), size=[8, 12], channels=1, cache_dir=str(tmp_path / "cache"))
    grey.setup("fit")
    assert grey.splits["train"].x.shape[1:] == (1, 8, 12)


def test_split_folders_are_respected(tmp_path):
    for split, n in (("train", 6), ("val", 2), ("test", 3)):
        make_tree(tmp_path / "d" / split, per_class=n)
    dm = ImageFolderDataModule(str(tmp_path / "d"), size=8, cache_dir=str(tmp_path / "cache"))
    dm.setup("fit")
    assert [len(dm.splits[s]) for s in ("train", "val", "test")] == [12, 4, 6]


def test_cache_is_reused_and_refreshed_when_files_change(tmp_path):
    root = make_tree(tmp_path / "imgs", per_class=5)
    cache = tmp_path / "cache"
    ImageFolderDataModule(str(root), size=8, cache_dir=str(cache)).prepare_data()
    made = sorted(p.name for p in cache.rglob("*.bin"))
    ImageFolderDataModule(str(root), size=8, cache_dir=str(cache)).prepare_data()
    assert sorted(p.name for p in cache.rglob("*.bin")) == made
    Image.fromarray(np.zeros((20, 24, 3), np.uint8)).save(root / "cat" / "new.png")
    ImageFolderDataModule(str(root), size=8, cache_dir=str(cache)).prepare_data()
    assert len(list(cache.rglob("*.bin"))) == 2 * len(made)
    assert not list(cache.rglob("*.tmp*")), "a partial cache was left behind"


def test_bad_data_errors_name_the_file(tmp_path):
    root = make_tree(tmp_path / "imgs", per_class=4)
    (root / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    dm = ImageFolderDataModule(str(root), size=8, cache_dir=str(tmp_path / "cache"))
    with pytest.raises(DataError, match="broken.png: not a readable image"):
        dm.prepare_data()
    assert not list((tmp_path / "cache").rglob("*.tmp*")), "half-written cache left after an error"
    assert all(p.with_suffix(".bin.done").is_file() for p in (tmp_path / "cache").rglob("*.bin"))

    (root / "cat" / "broken.png").unlink()
    (root / "empty").mkdir()
    with pytest.raises(DataError, match="empty: empty class folder"):
        ImageFolderDataModule(str(root), size=8).files
    (tmp_path / "bare").mkdir()
    with pytest.raises(DataError, match="bare: no class folders"):
        ImageFolderDataModule(str(tmp_path / "bare"), size=8).files
    with pytest.raises(DataError, match="nowhere: no such folder"):
        ImageFolderDataModule(str(tmp_path / "nowhere"), size=8).files
    (root / "empty").rmdir()
    Image.fromarray(np.zeros((30, 30, 3), np.uint8)).save(root / "dog" / "odd.png")
    dm = ImageFolderDataModule(str(root), size=None, cache_dir=str(tmp_path / "cache2"))
    with pytest.raises(DataError, match="odd.png: 30x30 pixels where the other images are 24x20; set size"):
        dm.prepare_data()


def test_a_whole_image_folder_is_the_test_set_with_test_root(tmp_path):
    folder = make_tree(tmp_path / "other", per_class=5)
    dm = ImageFolderDataModule(None, test_root=str(folder), size=16, channels=3, cache_dir=str(tmp_path / "c"),
                               batch_size=4)
    assert dm.class_names == ["cat", "dog"]
    dm.prepare_data()
    dm.setup("test")
    labels = [y for _, ys in dm.test_dataloader()[0] for y in ys.tolist()]
    assert sorted(labels) == [0] * 5 + [1] * 5  # every file, none split off
