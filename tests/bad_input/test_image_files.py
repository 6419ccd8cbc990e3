"""Image files: 16-bit and float images scaled (not clipped), modes and files that cannot be used refused."""
import numpy as np
import pytest
from PIL import Image

from blackmagic.datamodules import ImageFolderDataModule
from blackmagic.io import DataError, read_image

from .make import image_tree, png16_rgb

GRADIENT16 = (np.arange(8 * 16).reshape(8, 16) * 516).astype(np.uint16)  # 0 .. 65532


def test_16_bit_greyscale_png_is_scaled_to_8_bit(tmp_path):
    Image.fromarray(GRADIENT16).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode == "I;16"
    image = read_image(tmp_path / "deep.png")
    assert image.shape == (1, 8, 16)
    assert np.array_equal(image[0].numpy(), np.round(GRADIENT16 / 257).astype(np.uint8))
    assert image.min() == 0 and image.max() == 255


def test_16_bit_greyscale_tiff_with_32_bit_integers_is_scaled_to_8_bit(tmp_path):
    Image.fromarray(GRADIENT16.astype(np.int32)).save(tmp_path / "deep.tif")
    assert Image.open(tmp_path / "deep.tif").mode == "I"
    assert np.array_equal(read_image(tmp_path / "deep.tif")[0].numpy(), np.round(GRADIENT16 / 257).astype(np.uint8))


def test_16_bit_rgb_png_keeps_its_high_bytes(tmp_path):
    rgb = np.stack([GRADIENT16, 65535 - GRADIENT16, np.full_like(GRADIENT16, 32768)], -1)
    image = read_image(png16_rgb(tmp_path / "deep_rgb.png", rgb))
    assert image.shape == (3, 8, 16)
    assert np.array_equal(image.numpy(), (rgb >> 8).astype(np.uint8).transpose(2, 0, 1))


def test_float_image_in_0_1_is_scaled_to_8_bit(tmp_path):
    values = np.linspace(0, 1, 8 * 16, dtype=np.float32).reshape(8, 16)
    Image.fromarray(values).save(tmp_path / "float.tif")
    assert np.array_equal(read_image(tmp_path / "float.tif")[0].numpy(), np.round(values * 255).astype(np.uint8))


@pytest.mark.parametrize("name,pixels,message", [
    ("wide.tif", np.linspace(0, 2.5, 16, dtype=np.float32).reshape(4, 4),
     r"wide.tif: float pixels must lie in \[0, 1\]; they span \[0, 2.5\]"),
    ("nan.tif", np.array([[0.5, np.nan], [0.1, 0.2]], np.float32), r"nan.tif: float pixels must lie in \[0, 1\]"),
    ("inf.tif", np.array([[0.5, np.inf], [0.1, 0.2]], np.float32), r"inf.tif: float pixels must lie in \[0, 1\]"),
    ("deep32.tif", np.array([[0, 70000], [1, 2]], np.int32), r"deep32.tif: integer pixels span \[0, 70000\]"),
    ("negative.tif", np.array([[-5, 100], [1, 2]], np.int32), r"negative.tif: integer pixels span \[-5, 100\]"),
])
def test_images_that_would_clip_are_refused(tmp_path, name, pixels, message):
    Image.fromarray(pixels).save(tmp_path / name)
    with pytest.raises(DataError, match=message):
        read_image(tmp_path / name)


def test_an_unsupported_mode_is_refused_naming_it(tmp_path):
    Image.new("RGB", (4, 4), (10, 20, 30)).convert("LAB").save(tmp_path / "lab.tif")
    with pytest.raises(DataError, match="lab.tif: PIL image mode LAB is not supported"):
        read_image(tmp_path / "lab.tif")


def test_a_16_bit_image_in_a_folder_is_not_a_white_square(tmp_path):
    root = image_tree(tmp_path / "img", size=(8, 16))
    Image.fromarray(GRADIENT16).save(root / "cat" / "deep.png")
    dm = ImageFolderDataModule(str(root), size=None, channels=1, cache_dir=str(tmp_path / "c"))
    decoded = dm.decode(root / "cat" / "deep.png")
    assert decoded.shape == (1, 8, 16) and decoded.min() == 0 and decoded.max() == 255
    assert len(np.unique(decoded)) > 100


@pytest.mark.parametrize("content", [
    b"this is a text file\n",
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 20,  # a PNG signature, then nothing usable
    b"",
])
def test_unreadable_images_name_the_file(tmp_path, content):
    root = image_tree(tmp_path / "img")
    (root / "dog" / "broken.png").write_bytes(content)
    with pytest.raises(DataError, match="dog/broken.png: not a readable image"):
        ImageFolderDataModule(str(root), size=8, cache_dir=str(tmp_path / "c")).prepare_data()


def test_a_cut_off_jpeg_names_the_file(tmp_path):
    root = image_tree(tmp_path / "img")
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(root / "cat" / "cut.jpg")
    raw = (root / "cat" / "cut.jpg").read_bytes()
    (root / "cat" / "cut.jpg").write_bytes(raw[: len(raw) // 3])
    with pytest.raises(DataError, match="cat/cut.jpg: not a readable image"):
        ImageFolderDataModule(str(root), size=8, cache_dir=str(tmp_path / "c")).prepare_data()


def test_mixed_sizes_without_size_name_the_odd_file(tmp_path):
    root = image_tree(tmp_path / "img", size=(8, 10))
    Image.fromarray(np.zeros((30, 30, 3), np.uint8)).save(root / "dog" / "odd.png")
    dm = ImageFolderDataModule(str(root), size=None, cache_dir=str(tmp_path / "c"))
    with pytest.raises(DataError, match="dog/odd.png: 30x30 pixels where the other images are 10x8; set size"):
        dm.prepare_data()


def test_channels_other_than_1_or_3_are_refused(tmp_path):
    with pytest.raises(ValueError, match="ImageFolderDataModule: channels must be 1 or 3, got 2"):
        ImageFolderDataModule(str(image_tree(tmp_path / "img")), channels=2)
