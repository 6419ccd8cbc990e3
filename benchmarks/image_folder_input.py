"""Image-folder training input, JPEG files -> augmented batch on the training device, in images per second:
blackmagic's DALI-fed datamodule (file reader -> decode -> spec inside DALI) against a torch DataLoader
(per-sample ``decode_jpeg`` + resize in worker processes, then the same spec on the torch backend), and the
torch-fed datamodule (decoded once into a cache, then the spec on the torch backend). Same run, same files.

    python benchmarks/image_folder_input.py [--images 2000] [--size 64] [--batch 128] [--epochs 2]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from PIL import Image

from blackmagic import augment
from blackmagic.datamodules import DaliImageFolderDataModule, ImageFolderDataModule
from timing import describe_device

SPEC = [{"flip": {"p": 0.5}}, {"rotate": {"degrees": 15}}, {"color_shift": {"brightness": 0.2, "contrast": 0.2}},
        {"noise": {"std": [0, 0.05]}}]


def make_jpegs(root: Path, n: int, classes: int = 10) -> None:
    rng = np.random.default_rng(0)
    for i in range(n):
        folder = root / f"class{i % classes}"
        folder.mkdir(parents=True, exist_ok=True)
        base = rng.integers(0, 255, (3,), dtype=np.uint8)
        img = np.clip(base + rng.normal(0, 40, (96, 128, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(folder / f"{i}.jpg", quality=90)


class JpegFolder(torch.utils.data.Dataset):
    def __init__(self, files, labels, size):
        self.files, self.labels, self.size = files, labels, size

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        from torchvision.io import decode_jpeg, read_file
        from torchvision.transforms.v2.functional import center_crop, resize

        img = decode_jpeg(read_file(str(self.files[i])))
        return center_crop(resize(img, self.size, antialias=True), [self.size, self.size]), self.labels[i]


def images_per_second(loader, device, epochs: int, post=lambda x: x) -> float:
    n, t0 = 0, None
    for epoch in range(epochs + 1):  # the first epoch warms up (workers, caches, DALI graph)
        if epoch == 1:
            t0 = time.perf_counter()
        for x, _ in loader:
            x = post(x.to(device, non_blocking=True))
            if epoch:
                n += len(x)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    device = torch.device(args.device)
    trainer = SimpleNamespace(global_rank=0, world_size=1, training=True, testing=False, current_epoch=0,
                              strategy=SimpleNamespace(root_device=device))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "jpegs"
        make_jpegs(root, args.images)
        common = dict(size=args.size, batch_size=args.batch, augment=SPEC, val_fraction=0.05, test_fraction=0.05,
                      cache_dir=str(Path(tmp) / "cache"))
        dali = DaliImageFolderDataModule(str(root), **common)
        dali.trainer = trainer
        cached = ImageFolderDataModule(str(root), **common)
        cached.trainer = trainer
        cached.prepare_data()
        cached.setup("fit")
        pipe = augment.build(SPEC, seed=0)
        files, labels = cached.files.files["train"], cached.files.labels["train"]
        torch_loader = torch.utils.data.DataLoader(JpegFolder(files, labels, args.size), batch_size=args.batch,
                                                   shuffle=True, num_workers=args.workers, persistent_workers=True)
        print(f"image-folder input on {describe_device(device)}: {len(files)} JPEGs 128x96 -> {args.size}x{args.size}, "
              f"batch {args.batch}")
        rates = {
            "DALI datamodule": images_per_second(dali.train_dataloader(), device, args.epochs),
            f"torch DataLoader ({args.workers} workers)": images_per_second(torch_loader, device, args.epochs, pipe),
            "torch datamodule (cached)": images_per_second(cached.train_dataloader(), device, args.epochs,
                                                           lambda x: cached.on_after_batch_transfer((x, None), 0)[0]),
        }
    base = rates[f"torch DataLoader ({args.workers} workers)"]
    for name, rate in rates.items():
        print(f"  {name:<28s} {rate:9.0f} images/s   x{rate / base:5.2f} vs the torch DataLoader")


if __name__ == "__main__":
    main()
