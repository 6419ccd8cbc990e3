"""Class-folder trees and the decoded cache: layouts that cannot work, files that would vanish silently,
caches that would serve stale data or could not be written."""
import errno
import os
import pathlib
import subprocess
import warnings

import numpy as np
import pytest
from PIL import Image

from blackmagic.datamodules import AudioFolderDataModule, ImageFolderDataModule
from blackmagic.datamodules.folders import HOST, decode_to_memmap
from blackmagic.io import DataError

from .make import audio_tree, image_tree, wav


def image_dm(root, tmp_path, **kwargs):
    return ImageFolderDataModule(str(root), size=8, cache_dir=str(tmp_path / "cache"), **kwargs)


# ---- layouts --------------------------------------------------------------------------------------------
def test_an_empty_class_folder_is_named(tmp_path):
    root = image_tree(tmp_path / "img")
    (root / "bird").mkdir()
    with pytest.raises(DataError, match="bird: empty class folder; it holds no .bmp, .gif, .jpeg"):
        image_dm(root, tmp_path).files


def test_a_class_folder_of_unreadable_kinds_says_what_it_holds(tmp_path):
    root = audio_tree(tmp_path / "a")
    (root / "maybe").mkdir()
    (root / "maybe" / "take1.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A ")
    with pytest.raises(DataError, match=r"maybe: empty class folder; it holds no .aif, .aiff, .flac, .mp3, .ogg, "
                                        r".opus, .wav files \(only take1.m4a\)"):
        AudioFolderDataModule(str(root)).files


def test_a_folder_without_class_folders_is_named(tmp_path):
    (tmp_path / "flat").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "flat" / "lonely.png")
    with pytest.raises(DataError, match="flat: no class folders; expected .*flat/CLASS/file"):
        image_dm(tmp_path / "flat", tmp_path).files


def test_a_missing_root_is_named(tmp_path):
    with pytest.raises(DataError, match="nowhere: no such folder"):
        image_dm(tmp_path / "nowhere", tmp_path).files


def test_val_or_test_classes_missing_from_train_are_named(tmp_path):
    for split in ("train", "val", "test"):
        image_tree(tmp_path / "d" / split, per_class=2)
    image_tree(tmp_path / "d" / "test" / "bird", per_class=1)  # test/bird/{cat,dog}/...: a class train lacks
    with pytest.raises(DataError, match=r"d/test: classes \['bird'\] do not appear in .*d/train"):
        image_dm(tmp_path / "d", tmp_path).files


def test_a_split_left_empty_by_the_fractions_is_named(tmp_path):
    root = image_tree(tmp_path / "img", per_class=1)  # one image per class: it goes to test, none to train
    with pytest.raises(DataError, match="img: the train split is empty; add files or raise val_fraction"):
        image_dm(root, tmp_path).files


def test_fractions_that_leave_nothing_to_train_on_are_refused(tmp_path):
    with pytest.raises(ValueError, match="val_fraction \\+ test_fraction must be < 1.*0.5, 0.5"):
        image_dm(image_tree(tmp_path / "img"), tmp_path, val_fraction=0.5, test_fraction=0.5).files


def test_an_image_spec_on_an_audio_datamodule_is_refused(tmp_path):
    with pytest.raises(ValueError, match="AudioFolderDataModule.augment: holds image ops; this datamodule gives audio"):
        AudioFolderDataModule(str(audio_tree(tmp_path / "a")), augment=[{"rotate": {"degrees": 10}}])


def test_an_audio_test_shift_on_an_image_datamodule_is_refused(tmp_path):
    with pytest.raises(ValueError, match="ImageFolderDataModule.test_shifts.loud: holds audio ops"):
        image_dm(image_tree(tmp_path / "img"), tmp_path, test_shifts={"loud": [{"gain": {"db": 6}}]})


# ---- files that would vanish silently -------------------------------------------------------------------
def test_files_of_other_kinds_are_named_in_a_warning(tmp_path):
    root = audio_tree(tmp_path / "a")
    for name in ("notes.txt", "take.m4a", "clip.wma"):
        (root / "yes" / name).write_bytes(b"x")
    (root / "no" / "cover.jpg").write_bytes(b"x")
    with pytest.warns(UserWarning, match=r"a: ignoring 4 files that are not .aif, .*\.wav: no/cover.jpg, "
                                         r"yes/clip.wma, yes/notes.txt, yes/take.m4a"):
        files = AudioFolderDataModule(str(root)).files
    assert sum(len(f) for f in files.files.values()) == 12


def test_the_warning_names_the_first_few_and_counts_the_rest(tmp_path):
    root = image_tree(tmp_path / "img")
    for i in range(8):
        (root / "cat" / f"scan{i}.psd").write_bytes(b"8BPS")
    with pytest.warns(UserWarning, match=r"ignoring 8 files .*: cat/scan0.psd, .*, cat/scan4.psd and 3 more"):
        image_dm(root, tmp_path).files


def test_hidden_files_are_skipped_quietly(tmp_path):
    root = audio_tree(tmp_path / "a")
    (root / "yes" / "._i0.wav").write_bytes(b"\x00\x05\x16\x07AppleDouble")  # macOS resource fork: not audio
    (root / "yes" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    wav(root / "yes" / ".backup" / "old.wav")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dm = AudioFolderDataModule(str(root), cache_dir=str(tmp_path / "c"))
        files = [f for split in dm.files.files.values() for f in split]
    assert not [w for w in caught if "ignoring" in str(w.message)], "hidden files were reported"
    assert len(files) == 12 and not any(part.startswith(".") for f in files for part in f.relative_to(root).parts)
    dm.prepare_data()


# ---- the decoded cache ----------------------------------------------------------------------------------
def test_a_rewrite_that_keeps_size_and_mtime_is_decoded_again(tmp_path):
    root = image_tree(tmp_path / "img")
    target, white = root / "cat" / "i0.png", tmp_path / "white.png"
    Image.fromarray(np.zeros((8, 10), np.uint8)).save(target, compress_level=0)  # size set by the pixel count
    Image.fromarray(np.full((8, 10), 255, np.uint8)).save(white, compress_level=0)
    dm = image_dm(root, tmp_path)
    split = next(s for s, files in dm.files.files.items() if target in files)
    i = dm.files.files[split].index(target)
    dm.setup("fit")
    assert dm.splits[split].x[i].max() == 0
    before = target.stat()
    assert white.stat().st_size == before.st_size  # the same size ...
    target.write_bytes(white.read_bytes())
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))  # ... and the same mtime
    assert target.stat().st_mtime_ns == before.st_mtime_ns and target.stat().st_ctime_ns != before.st_ctime_ns
    again = image_dm(root, tmp_path)
    again.setup("fit")
    assert again.splits[split].x[i].min() == 255, "the old cache was served for a changed file"


def dead_pid() -> int:
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


def test_temp_files_of_killed_runs_are_removed_and_live_ones_kept(tmp_path):
    path = tmp_path / "cache" / "train.bin"
    path.parent.mkdir(parents=True)
    stale = path.with_name(f"train.bin.tmp{dead_pid()}@{HOST}")
    live = path.with_name(f"train.bin.tmp{os.getppid()}@{HOST}")  # the process that started the tests runs
    elsewhere = path.with_name(f"train.bin.tmp{dead_pid()}@another-host")  # a shared folder: not ours to judge
    for f in (stale, live, elsewhere):
        f.write_bytes(b"\x00" * 64)
    out = decode_to_memmap([tmp_path / "a", tmp_path / "b"], lambda f: np.full(4, len(f.name), np.uint8), (4,),
                           np.uint8, path, "decoding")
    assert out.shape == (2, 4) and path.with_name("train.bin.done").is_file()
    assert not stale.exists(), "a killed run's temporary file was left behind"
    assert live.exists() and elsewhere.exists(), "a temporary file that may still be written was removed"


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES])
def test_an_unwritable_cache_folder_names_it_and_the_fix(tmp_path, monkeypatch, code):
    cache = tmp_path / "readonly"

    def refuse(self, *args, **kwargs):  # tests run as root, which may write anywhere: simulate the refusal
        raise OSError(code, os.strerror(code), str(self))

    dm = ImageFolderDataModule(str(image_tree(tmp_path / "img")), size=8, cache_dir=str(cache))
    monkeypatch.setattr(pathlib.Path, "mkdir", refuse)
    with pytest.raises(DataError, match=rf"readonly/ImageFolderDataModule/\w+: cannot write the decoded cache "
                                        rf"there \({os.strerror(code)}\); point cache_dir: in the recipe "
                                        r".* or \$BLACKMAGIC_CACHE at a writable folder"):
        dm.prepare_data()


def test_a_cache_folder_under_a_file_names_it(tmp_path):
    (tmp_path / "taken").write_text("a file, not a folder")
    dm = ImageFolderDataModule(str(image_tree(tmp_path / "img")), size=8, cache_dir=str(tmp_path / "taken"))
    with pytest.raises(DataError, match="taken/ImageFolderDataModule/.*: cannot write the decoded cache there"):
        dm.prepare_data()
