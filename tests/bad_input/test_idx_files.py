"""Fashion-MNIST IDX files: labels that are not classes, truncated or foreign files, missing files."""
import numpy as np
import pytest

from blackmagic.datamodules import FashionMNISTDataModule
from blackmagic.io import DataError

from .make import fashion_root, idx


def load(root):
    dm = FashionMNISTDataModule(root=str(root), val_size=5)
    dm.setup("fit")
    return dm


def test_labels_that_are_class_indices_load(tmp_path):
    dm = load(fashion_root(tmp_path))
    assert [len(dm.splits[s]) for s in ("train", "val", "test")] == [15, 5, 6]


def test_labels_beyond_the_classes_are_refused_at_load(tmp_path):
    labels = np.arange(20) % 13  # 0..12 for 10 classes: training would die later on "index 12 is out of bounds"
    root = fashion_root(tmp_path, train_labels=labels)
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte.gz: label 10 at index 10 is not a class index "
                                        r"0..9 \(3 of 20 labels are out of range\)"):
        load(root)


def test_a_label_file_with_images_in_it_is_refused(tmp_path):
    root = fashion_root(tmp_path)
    idx(root / "t10k-labels-idx1-ubyte.gz", np.zeros((6, 28, 28)))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz: a label file holds one value per image \(1-D\)"):
        load(root)


def test_images_and_labels_of_different_counts_are_refused(tmp_path):
    root = fashion_root(tmp_path)
    idx(root / "t10k-labels-idx1-ubyte.gz", np.arange(5))
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte: expected N x 28 x 28 images matching 5 labels"):
        load(root)


def test_a_truncated_idx_file_is_refused(tmp_path):
    root = fashion_root(tmp_path)
    idx(root / "train-images-idx3-ubyte.gz", np.zeros((20, 28, 28)), cut=100)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: holds 15580 values where its header promises "
                                        r"15680; truncated\?"):
        load(root)


@pytest.mark.parametrize("magic", [b"\x00\x00\x0d\x03", b"\x1f\x8b\x08\x00", b"GIF8"])
def test_a_file_that_is_not_unsigned_byte_idx_is_refused(tmp_path, magic):
    root = fashion_root(tmp_path)
    idx(root / "train-images-idx3-ubyte.gz", np.zeros((20, 28, 28)), magic=magic)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: not an unsigned-byte IDX file \(bad magic"):
        load(root)


def test_a_gzip_file_cut_short_is_refused(tmp_path):
    root = fashion_root(tmp_path)
    raw = (root / "train-images-idx3-ubyte.gz").read_bytes()
    (root / "train-images-idx3-ubyte.gz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: cannot be read .*truncated\?"):
        load(root)


def test_a_missing_file_names_the_fix(tmp_path):
    root = fashion_root(tmp_path)
    (root / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\(.gz\): not found; install Debian's "
                                        "dataset-fashion-mnist or pass root"):
        load(root)


def test_a_val_size_beyond_the_training_set_is_refused(tmp_path):
    dm = FashionMNISTDataModule(root=str(fashion_root(tmp_path)), val_size=20)
    with pytest.raises(ValueError, match="FashionMNISTDataModule: val_size must be between 1 and 19, got 20"):
        dm.setup("fit")
