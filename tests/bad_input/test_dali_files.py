"""Files DALI cannot decode are refused, naming the file, before a DALI reader is built (DALI itself would
fail deep inside its decoder without saying which file)."""
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image

from blackmagic.datamodules import DaliAudioFolderDataModule, DaliImageFolderDataModule
from blackmagic.io import DataError, sniff

from .make import RATE, audio_tree, image_tree, tone


def attach(dm):
    dm.trainer = SimpleNamespace(global_rank=0, world_size=1, training=True, testing=False, current_epoch=0,
                                 strategy=SimpleNamespace(root_device=torch.device("cpu")))
    return dm


def image_dm(root):
    return attach(DaliImageFolderDataModule(str(root), size=8, batch_size=4, val_fraction=0.2, test_fraction=0.2))


def audio_dm(root):
    return attach(DaliAudioFolderDataModule(str(root), batch_size=4, val_fraction=0.2, test_fraction=0.2))


def in_train(dm, path):
    """Move ``path`` into the training split (the seeded split may have put it elsewhere)."""
    for split in ("val", "test"):
        if path in dm.files.files[split]:
            i = dm.files.files[split].index(path)
            dm.files.files[split].pop(i)
            dm.files.labels[split].pop(i)
    dm.files.files["train"].append(path)
    dm.files.labels["train"].append(0)
    return dm


def write(path, kind):
    image = Image.fromarray(np.full((8, 8, 3), 100, np.uint8))
    if kind in ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP"):
        image.save(path, format=kind)
    else:
        soundfile.write(path, tone(0.1), RATE, format=kind)
    return path


@pytest.mark.parametrize("kind,name,expected", [
    ("PNG", "a.png", "PNG"), ("JPEG", "a.jpg", "JPEG"), ("BMP", "a.bmp", "BMP"), ("GIF", "a.gif", "GIF"),
    ("TIFF", "a.tif", "TIFF"), ("WEBP", "a.webp", "WebP"), ("WAV", "a.wav", "WAV"), ("FLAC", "a.flac", "FLAC"),
    ("OGG", "a.ogg", "OGG"), ("MP3", "a.mp3", "MP3"), ("AIFF", "a.aiff", "AIFF"),
])
def test_sniff_knows_the_formats_by_their_first_bytes(tmp_path, kind, name, expected):
    assert sniff(write(tmp_path / name, kind)) == expected


@pytest.mark.parametrize("content", [b"hello, I am text\n", b"", b"<html><body>404</body></html>"])
def test_sniff_knows_nothing_else(tmp_path, content):
    (tmp_path / "x.jpg").write_bytes(content)
    assert sniff(tmp_path / "x.jpg") is None


def test_a_text_file_named_jpg_is_refused_before_dali_sees_it(tmp_path):
    root = image_tree(tmp_path / "img")
    (root / "cat" / "notes.jpg").write_text("not an image at all\n")
    dm = in_train(image_dm(root), root / "cat" / "notes.jpg")
    with pytest.raises(DataError, match="cat/notes.jpg: its first bytes are not those of any BMP, JPEG, PNG, TIFF, "
                                        "WebP file, which DALI's image decoder needs"):
        dm.train_dataloader()


def test_a_gif_is_refused_for_dali_with_the_way_out(tmp_path):
    root = image_tree(tmp_path / "img")
    write(root / "dog" / "moving.gif", "GIF")
    dm = in_train(image_dm(root), root / "dog" / "moving.gif")
    with pytest.raises(DataError, match="dog/moving.gif: GIF data, which DALI's image decoder cannot decode .*"
                                        "or use ImageFolderDataModule, which reads GIF"):
        dm.train_dataloader()


def test_every_split_is_checked(tmp_path):
    root = image_tree(tmp_path / "img")
    dm = image_dm(root)
    bad = dm.files.files["val"][0]
    bad.write_bytes(b"GIF89a" + bytes(10))
    dm.train_dataloader()  # the training files are fine
    with pytest.raises(DataError, match=f"{bad.name}: GIF data"):
        dm.val_dataloader()


def test_an_mp3_is_refused_for_dali_with_the_way_out(tmp_path):
    root = audio_tree(tmp_path / "a")
    write(root / "yes" / "take.mp3", "MP3")
    dm = in_train(audio_dm(root), root / "yes" / "take.mp3")
    with pytest.raises(DataError, match="yes/take.mp3: MP3 data, which DALI's audio decoder cannot decode "
                                        r"\(it reads AIFF, FLAC, OGG, WAV\).*AudioFolderDataModule, which reads MP3"):
        dm.train_dataloader()


@pytest.mark.parametrize("content,message", [
    (b"", "its first bytes are not those of any AIFF, FLAC, OGG, WAV file"),
    (b"ID3\x04\x00 an mp3 named .wav", "MP3 data, which DALI's audio decoder cannot decode"),
])
def test_a_wav_that_is_not_wav_is_refused_for_dali(tmp_path, content, message):
    root = audio_tree(tmp_path / "a")
    (root / "no" / "odd.wav").write_bytes(content)
    dm = in_train(audio_dm(root), root / "no" / "odd.wav")
    with pytest.raises(DataError, match=f"no/odd.wav: {message}"):
        dm.train_dataloader()
