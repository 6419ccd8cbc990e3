import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from blackmagic.datamodules import FashionMNISTDataModule
from blackmagic.datamodules.fashion_mnist import DEFAULT_ROOT, read_idx
from blackmagic.io import DataError

needs_data = pytest.mark.skipif(not Path(DEFAULT_ROOT).is_dir(), reason="Debian's dataset-fashion-mnist is not installed")


@needs_data
@pytest.mark.parametrize("batch_size", [1, 64, 256])
def test_batches_have_the_documented_shapes_and_types(batch_size):
    dm = FashionMNISTDataModule(batch_size=batch_size)
    dm.setup("fit")
    assert [len(dm.splits[s]) for s in ("train", "val", "test")] == [55_000, 5_000, 10_000]
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (batch_size, 1, 28, 28) and x.dtype == torch.uint8
    assert y.shape == (batch_size,) and y.dtype == torch.int64 and 0 <= y.min() and y.max() <= 9
    out, _ = dm.on_after_batch_transfer((x, y), 0)
    assert out.dtype == torch.float32 and -1 <= out.min() and out.max() <= 1
    assert len(dm.train_dataloader()) == -(-55_000 // batch_size)


@needs_data
def test_split_is_deterministic_for_a_seed_and_disjoint():
    a, b, c = (FashionMNISTDataModule(seed=s) for s in (0, 0, 1))
    for dm in (a, b, c):
        dm.setup("fit")
    assert torch.equal(a.splits["val"].x, b.splits["val"].x)
    assert not torch.equal(a.splits["val"].x, c.splits["val"].x)
    assert dm.class_names[0] == "t-shirt/top" and dm.num_classes == 10


def write_idx(path: Path, array: np.ndarray, truncate: int = 0):
    header = bytes([0, 0, 8, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    raw = header + array.astype(np.uint8).tobytes()
    with gzip.open(path, "wb") as f:
        f.write(raw[: len(raw) - truncate])


def test_idx_reader_and_its_errors(tmp_path):
    images = np.random.default_rng(0).integers(0, 255, (5, 28, 28))
    write_idx(tmp_path / "a-idx3-ubyte.gz", images)
    assert np.array_equal(read_idx(tmp_path / "a-idx3-ubyte"), images)
    write_idx(tmp_path / "b-idx3-ubyte.gz", images, truncate=100)
    with pytest.raises(DataError, match="b-idx3-ubyte.gz: holds .* truncated"):
        read_idx(tmp_path / "b-idx3-ubyte")
    with pytest.raises(DataError, match="c-idx3-ubyte.*not found.*dataset-fashion-mnist"):
        read_idx(tmp_path / "c-idx3-ubyte")
    (tmp_path / "d-idx3-ubyte").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(DataError, match="bad magic"):
        read_idx(tmp_path / "d-idx3-ubyte")


def test_missing_root_names_the_fix(tmp_path):
    dm = FashionMNISTDataModule(root=str(tmp_path))
    with pytest.raises(DataError, match="install Debian's dataset-fashion-mnist or pass root"):
        dm.setup("fit")
