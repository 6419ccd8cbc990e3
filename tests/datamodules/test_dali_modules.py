"""The DALI-fed datamodules pass the same reshuffle, no-repeat and coverage checks as the torch-fed ones,
on DALI's CPU backend (device_id=None)."""
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image

from blackmagic import augment
from blackmagic.datamodules import (AudioFolderDataModule, DaliAudioFolderDataModule, DaliFashionMNISTDataModule,
                                    DaliImageFolderDataModule, FashionMNISTDataModule, ImageFolderDataModule)
from blackmagic.datamodules import audio_folder
from blackmagic.datamodules.dali_feeds import DaliArrayFeed, DaliAudioFileFeed, DaliImageFileFeed
from blackmagic.datamodules.dali_loader import DaliLoader
from blackmagic.datamodules.fashion_mnist import DEFAULT_ROOT
from blackmagic.datamodules.feeds import TorchFeed


def index_images(root: Path, n: int = 60, classes=("a", "b", "c")) -> Path:
    """Image i is 8x8 filled with value i (i < 256): batches reveal which samples they hold."""
    for i in range(n):
        folder = root / classes[i % len(classes)]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((8, 8), i, np.uint8)).save(folder / f"{i:03d}.png")
    return root


def ids(x: torch.Tensor) -> list[int]:
    return ((x[:, 0, 0, 0] + 1) / 2 * 255).round().long().tolist()


def attach(dm, rank=0, world=1):
    dm.trainer = SimpleNamespace(global_rank=rank, world_size=world, training=True, testing=False, current_epoch=0,
                                 strategy=SimpleNamespace(root_device=torch.device("cpu")))
    return dm


def epochs_of(loader, n):
    return [[ids(x) for x, _ in loader] for _ in range(n)]


def folder_dm(root, **kw):
    """Single-channel 8x8 images, batches of 8, 10 % of each class held out for val and for test."""
    return DaliImageFolderDataModule(str(root), **{"size": 8, "channels": 1, "batch_size": 8, "val_fraction": 0.1,
                                                   "test_fraction": 0.1, **kw})


def test_image_folder_reshuffles_covers_and_never_repeats_a_minibatch(tmp_path):
    dm = attach(folder_dm(index_images(tmp_path / "img", 120)))
    dm.setup("fit")
    loader = dm.train_dataloader()
    epochs = epochs_of(loader, 5)
    train = sorted(int(f.stem) for f in dm.files.files["train"])
    for e in epochs:
        assert sorted(i for b in e for i in b) == train, "a sample was dropped or duplicated"
        assert len(e) == len(loader)
    orders = [tuple(i for b in e for i in b) for e in epochs]
    assert len(set(orders)) == 5, "the order did not change every epoch"
    batches = [frozenset(b) for e in epochs for b in e]
    assert len(batches) == len(set(batches)), "a minibatch repeated"


def test_image_folder_two_ranks_see_each_sample_exactly_once_per_epoch(tmp_path):
    root = index_images(tmp_path / "img", 90)
    ranks = [attach(folder_dm(root), rank=r, world=2) for r in (0, 1)]
    loaders = [dm.train_dataloader() for dm in ranks]
    train = sorted(int(f.stem) for f in ranks[0].files.files["train"])
    for _ in range(3):
        seen = [[i for x, _ in loader for i in ids(x)] for loader in loaders]
        assert sorted(seen[0] + seen[1]) == train
        assert not set(seen[0]) & set(seen[1])


def test_image_folder_uneven_shards_give_every_rank_the_same_steps_and_no_empty_batch(tmp_path):
    root = index_images(tmp_path / "img", 95)  # 77 training images over 3 ranks: shards of 25 and 26
    ranks = [attach(folder_dm(root, batch_size=5), rank=r, world=3) for r in range(3)]
    loaders = [dm.train_dataloader() for dm in ranks]
    for _ in range(2):  # every epoch
        batches = [[ids(x) for x, _ in loader] for loader in loaders]
        sizes = [[len(b) for b in rank] for rank in batches]
        assert all(min(s) > 0 for s in sizes), "an empty batch reached training"
        assert [len(s) for s in sizes] == [len(loader) for loader in loaders] == [6, 6, 6]  # DDP never waits
        seen = [i for rank in batches for b in rank for i in b]
        assert sorted(seen) == sorted(int(f.stem) for f in ranks[0].files.files["train"])  # each sample once


def test_batch_size_one_cannot_even_out_uneven_shards(tmp_path):
    root = index_images(tmp_path / "img", 95)
    with pytest.raises(ValueError, match="batch_size >= 2"):
        attach(folder_dm(root, batch_size=1), rank=0, world=3).train_dataloader()


def test_image_folder_augments_only_the_training_pipeline(tmp_path):
    root = index_images(tmp_path / "img", 30)
    dm = attach(folder_dm(root, augment=[{"noise": {"std": 0.1}}]))
    x, _ = next(iter(dm.train_dataloader()))
    assert x.shape[1:] == (1, 8, 8) and x.dtype == torch.float32
    assert (x - x[:, :, :1, :1]).abs().max() > 0.05, "training batches were not augmented"
    v, _ = next(iter(dm.val_dataloader()))
    assert torch.equal(v, v[:, :, :1, :1].expand_as(v)), "validation batches were augmented"


@pytest.mark.skipif(not Path(DEFAULT_ROOT).is_dir(), reason="Fashion-MNIST is not installed")
def test_fashion_mnist_through_dali_matches_the_torch_module_without_augmentation():
    dali = attach(DaliFashionMNISTDataModule(batch_size=500))
    plain = attach(FashionMNISTDataModule(batch_size=500))
    for dm in (dali, plain):
        dm.setup("fit")
    (xd, yd), (xt, yt) = next(iter(dali.val_dataloader())), next(iter(plain.val_dataloader()))
    xt, _ = plain.on_after_batch_transfer((xt, yt), 0)
    torch.testing.assert_close(xd, xt)
    assert torch.equal(yd, yt)
    loader = dali.train_dataloader()
    epochs = [[y.tolist() for _, y in loader] for _ in range(3)]
    assert epochs[0] != epochs[1] != epochs[2] and len(epochs[0]) == len(loader) == 110
    assert sorted(sum(epochs[0], [])) == sorted(dali.splits["train"].y.tolist())


def tones(root: Path, rate: int = 8000) -> Path:
    """Two classes of ten half-amplitude tones, 0.5 to 0.95 s long."""
    for w, f in (("hi", 300), ("lo", 100)):
        (root / w).mkdir(parents=True)
        for i in range(10):
            t = np.arange(int(rate * (0.5 + 0.05 * i))) / rate
            soundfile.write(root / w / f"{i}.wav", (0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32), rate)
    return root


def test_audio_folder_through_dali(tmp_path):
    dm = attach(DaliAudioFolderDataModule(str(tones(tmp_path / "a")), sample_rate=16000, seconds=1.0, batch_size=4,
                                          augment=[{"gain": {"db": [-6, -6]}}]))
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (4, 1, 16000) and x.abs().max() <= 0.5 * 10 ** (-6 / 20) + 0.02
    v, vy = next(iter(dm.val_dataloader()))
    assert v.abs().max() > 0.45, "validation audio was augmented"
    dm.trainer.training, dm.trainer.testing = False, True
    quiet = dm.test_names.index("test_quiet")  # a shifted test set: gain -20 dB on the waveform itself
    torch.testing.assert_close(dm.on_after_batch_transfer((v, vy), quiet)[0], v * 0.1, rtol=1e-5, atol=1e-6)


# ---- the feed a datamodule holds --------------------------------------------------------------------------
def test_feed_dali_on_the_plain_modules_is_the_dali_module(tmp_path):
    root = index_images(tmp_path / "img", 30)
    plain = attach(ImageFolderDataModule(str(root), size=8, channels=1, batch_size=8, feed="dali",
                                         cache_dir=str(tmp_path / "cache")))
    named = attach(folder_dm(root))
    assert isinstance(plain.feed, DaliImageFileFeed) and isinstance(named.feed, DaliImageFileFeed)
    assert isinstance(plain.train_dataloader(), DaliLoader)
    plain.prepare_data()
    plain.setup("fit")
    assert not (tmp_path / "cache").exists(), "a DALI feed filled the decode cache"
    assert [ids(x) for x, _ in plain.val_dataloader()] == [ids(x) for x, _ in named.val_dataloader()]
    assert isinstance(ImageFolderDataModule(str(root), size=8).feed, TorchFeed)
    assert isinstance(AudioFolderDataModule(str(tones(tmp_path / "a")), feed="dali").feed, DaliAudioFileFeed)
    assert isinstance(FashionMNISTDataModule(feed="dali").feed, DaliArrayFeed)  # reads nothing until setup


def test_a_feed_the_module_has_not_is_refused(tmp_path):
    root = index_images(tmp_path / "img", 30)
    with pytest.raises(ValueError, match="ImageFolderDataModule.feed: 'kornia' is not one of its feeds"):
        ImageFolderDataModule(str(root), size=8, feed="kornia")
    with pytest.raises(ValueError, match="ImageFolderDataModule.feed: .*DaliArrayFeed"):
        ImageFolderDataModule(str(root), size=8, feed=DaliArrayFeed())
    feed = DaliImageFileFeed()
    ImageFolderDataModule(str(root), size=8, feed=feed)
    with pytest.raises(ValueError, match="already feeds"):
        ImageFolderDataModule(str(root), size=8, feed=feed)


IMAGE_SPEC, AUDIO_SPEC = [{"noise": {"std": 0.1}}], [{"gain": {"db": [-6, -6]}}]


@pytest.mark.parametrize("make", [
    lambda tmp: DaliFashionMNISTDataModule(augment=IMAGE_SPEC),
    lambda tmp: FashionMNISTDataModule(augment=IMAGE_SPEC, feed="dali"),
    lambda tmp: DaliImageFolderDataModule(str(index_images(tmp / "img", 30)), size=8, augment=IMAGE_SPEC),
    lambda tmp: AudioFolderDataModule(str(tones(tmp / "a")), augment=AUDIO_SPEC, feed="dali"),
], ids=["DaliFashionMNIST", "FashionMNIST-feed-dali", "DaliImageFolder", "AudioFolder-feed-dali"])
def test_where_dali_trains_no_torch_augment_pipeline_is_built(tmp_path, monkeypatch, make):
    torch_specs, real = [], augment.build

    def build(spec, *args, backend="torch", **kwargs):
        if backend == "torch":
            torch_specs.append(spec)
        return real(spec, *args, backend=backend, **kwargs)

    monkeypatch.setattr(augment, "build", build)
    dm = make(tmp_path)
    assert dm.pipeline is None and dm.feed.augment is not None, "the spec is compiled for DALI only"
    assert dm.augment_spec not in torch_specs
    assert dm.shift_pipelines and torch_specs, "the shifted test sets stay torch pipelines"


def test_a_zca_whiten_is_refused_for_dali_naming_the_module_and_nothing_is_fitted(tmp_path):
    with pytest.raises(augment.SpecError, match="DaliImageFolderDataModule.augment: .*'whiten' with mode zca"):
        folder_dm(index_images(tmp_path / "img", 30), augment=[{"whiten": {"mode": "zca"}}])


def forbid_noise_reads(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("background noise recordings were read")

    monkeypatch.setattr(AudioFolderDataModule, "background_noise", fail)
    monkeypatch.setattr(audio_folder, "read_audio", fail)


def test_a_dali_audio_module_never_reads_the_background_noise_recordings(tmp_path, monkeypatch):
    root = tones(tmp_path / "a")
    (root / "_background_noise_").mkdir()
    soundfile.write(root / "_background_noise_" / "hum.wav", np.zeros(8000, np.float32), 8000)
    forbid_noise_reads(monkeypatch)
    dm = attach(DaliAudioFolderDataModule(str(root), batch_size=4, augment=[{"gain": {"db": [-6, -6]}}]))
    assert dm.pipeline is None and dm.class_names == ["hi", "lo"]
    x, _ = next(iter(dm.train_dataloader()))
    assert x.shape == (4, 1, 16000)
    with pytest.raises(augment.SpecError, match="DaliAudioFolderDataModule.augment: .*'background_noise'"):
        DaliAudioFolderDataModule(str(root), augment=[{"background_noise": {"snr_db": [5, 10]}}])
