"""The LightningModule every recipe trains: one net or an ensemble, cross-entropy, calibrated metrics."""
from __future__ import annotations

import functools
import inspect
from typing import Callable

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanMetric

from .metrics import ProbabilityMetrics

NetFactory = Callable[[int, int], nn.Module]  # (in_channels, num_classes) -> net


class ClassifierModule(L.LightningModule):
    """Train ``ensemble`` copies of a net on the same batches; predict with the mean of their probabilities.

    Args:
        net: builds a member from ``(in_channels, num_classes)``; in a recipe, a ``class_path`` with ``init_args``.
        class_names: the label names, in label order (linked from the datamodule); saved in every checkpoint.
        in_channels: input channels (linked from the datamodule).
        ensemble: number of independently initialised members (5 is the practitioner's number).
        mc_dropout: if > 0, testing also reports Monte-Carlo dropout over this many passes (``test_mc_*``).
        lr, weight_decay, label_smoothing: AdamW with a one-cycle schedule over the whole run.
        channels_last: keep image batches and conv weights channels-last (NHWC): 1.4x faster CPU steps here
            (oneDNN), and the layout tensor cores prefer.
        sample_rate: the waveforms' rate (linked from an audio datamodule), handed to a net that takes one, so a
            recipe states it once.
        test_time_flip: predict with the mean of the probabilities for the input and for its left-right mirror
            image (twice the inference cost; for images whose class a horizontal flip does not change). Export
            keeps it.

    Validation and test log ``acc``, ``nll`` and ``ece`` of the averaged probabilities; an ensemble's test also
    logs its first member alone (``test_member1_*``), what one net trained the same way scores. Testing on data whose
    class names differ in order from the checkpoint's maps labels by name, and refuses unknown names.
    """

    def __init__(self, net: NetFactory, class_names: list[str] | None = None, in_channels: int = 1,
                 ensemble: int = 1, mc_dropout: int = 0, lr: float = 3e-3, weight_decay: float = 5e-4,
                 label_smoothing: float = 0.0, channels_last: bool = False, test_time_flip: bool = False,
                 sample_rate: int | None = None):
        super().__init__()
        if ensemble < 1:
            raise ValueError(f"ClassifierModule: ensemble must be >= 1, got {ensemble}")
        if not class_names:
            raise ValueError("ClassifierModule: class_names is empty; the datamodule found no classes")
        self.save_hyperparameters()
        self.net_factory = net
        self.class_names = list(class_names)
        self.members = self._build(len(self.class_names))
        self._label_map: torch.Tensor | None = None
        self.metrics = nn.ModuleDict()
        # The epoch's mean training loss, kept in the checkpoint (persistent) so that a run resumed mid-epoch
        # reports the same mean as the uninterrupted run.
        self.train_loss_mean = MeanMetric()
        self.train_loss_mean.persistent(True)
        self.input_shape: tuple[int, ...] | None = None  # one sample's shape, recorded for export

    def _build(self, num_classes: int) -> nn.ModuleList:
        rate = self.hparams.get("sample_rate")
        extra = {"sample_rate": rate} if rate is not None and _takes(self.net_factory, "sample_rate") else {}
        members = nn.ModuleList(self.net_factory(self.hparams.in_channels, num_classes, **extra)
                                for _ in range(self.hparams.ensemble))
        return members.to(memory_format=torch.channels_last) if self.hparams.channels_last else members

    def _layout(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.hparams.channels_last and x.dim() == 4 else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Mean class probabilities of the members: (B, ...) -> (B, K)."""
        return mean_probs(self.members, self._layout(x), self.hparams.test_time_flip)

    def training_step(self, batch, batch_idx):
        x, y = batch
        x = self._layout(x)
        self.input_shape = tuple(x.shape[1:])
        losses = [F.cross_entropy(m(x), y, label_smoothing=self.hparams.label_smoothing) for m in self.members]
        loss = torch.stack(losses).mean()
        self.train_loss_mean.update(loss.detach(), len(y))
        self.log("train_loss", loss, prog_bar=True, on_step=True, on_epoch=False, batch_size=len(y))
        self.log("train_loss_epoch", self.train_loss_mean, on_step=False, on_epoch=True, batch_size=len(y))
        return loss

    def on_train_epoch_start(self):
        # Not called when a run resumes mid-epoch, so the restored partial mean carries on there; a checkpoint
        # taken at an epoch's end still holds that epoch's sums, which must not leak into the next epoch.
        self.train_loss_mean.reset()

    def validation_step(self, batch, batch_idx):
        self._evaluate("val", batch, self(batch[0]))

    def test_step(self, batch, batch_idx, dataloader_idx: int = 0):
        x, y = batch
        name = self._test_name(dataloader_idx)
        each = member_probs(self.members, self._layout(x), self.hparams.test_time_flip)  # (M, B, K)
        self._evaluate(name, (x, y), each.mean(0))
        if len(each) > 1:
            self._evaluate(name.replace("test", "test_member1", 1), (x, y), each[0])
        if self.hparams.mc_dropout:
            self._evaluate(name.replace("test", "test_mc", 1), (x, y), self.mc_dropout_probs(x))
        return each.mean(0)  # the batch's probabilities, for callbacks (AccuracyReport)

    def predict_step(self, batch, batch_idx, dataloader_idx: int = 0):
        probs = self(batch[0])
        return {"probs": probs, "pred": probs.argmax(-1)}

    @torch.no_grad()
    def mc_dropout_probs(self, x: torch.Tensor, passes: int | None = None) -> torch.Tensor:
        """Mean probabilities over ``passes`` forward passes with dropout on (BatchNorm stays in eval mode)."""
        drop = [m for m in self.modules() if isinstance(m, nn.modules.dropout._DropoutNd)]
        if not drop:
            raise ValueError("mc_dropout: the net has no dropout layer (dropout follows only layers wider than 256)")
        for m in drop:
            m.train()
        try:
            return torch.stack([self(x) for _ in range(passes or self.hparams.mc_dropout)]).mean(0)
        finally:
            for m in drop:
                m.eval()

    def _evaluate(self, prefix: str, batch, probs: torch.Tensor) -> None:
        _, y = batch
        if prefix.startswith("test") and self._label_map is not None:
            y = self._label_map.to(y.device)[y]
        if prefix not in self.metrics:
            self.metrics[prefix] = ProbabilityMetrics(len(self.class_names)).to(self.device)
        self.metrics[prefix].update(probs, y)

    def _log_metrics(self, prefixes) -> None:
        for prefix in prefixes:
            if prefix in self.metrics:
                for key, value in self.metrics[prefix].compute().items():
                    self.log(f"{prefix}_{key}", value, prog_bar=key == "acc", sync_dist=True)
                self.metrics[prefix].reset()

    def on_validation_epoch_end(self):
        self._log_metrics(["val"])

    def on_test_epoch_end(self):
        self._log_metrics([k for k in self.metrics if k.startswith("test")])

    def _test_name(self, dataloader_idx: int) -> str:
        names = getattr(self.trainer.datamodule, "test_names", None) or ["test"]
        return names[dataloader_idx]

    def on_test_start(self):
        data_names = getattr(self.trainer.datamodule, "class_names", None)
        self._label_map = label_map(data_names, self.class_names) if data_names else None

    def on_save_checkpoint(self, checkpoint):
        checkpoint["class_names"] = self.class_names
        checkpoint["input_shape"] = self.input_shape

    def on_load_checkpoint(self, checkpoint):
        saved = checkpoint.get("hyper_parameters", {})
        channels = saved.get("in_channels", self.hparams.in_channels)
        if channels != self.hparams.in_channels:
            where = getattr(self._trainer, "ckpt_path", None) if self._trainer is not None else None
            raise ValueError(f"the checkpoint{f' {where}' if where else ''} was trained on {channels}-channel inputs; "
                             f"this data gives {self.hparams.in_channels} (e.g. data.init_args.channels: {channels} "
                             "for image folders)")
        self.input_shape = checkpoint.get("input_shape") or self.input_shape
        names = checkpoint.get("class_names")
        members = saved.get("ensemble", self.hparams.ensemble)
        if (names and list(names) != self.class_names) or members != self.hparams.ensemble:
            # built for other data or another ensemble size: rebuild to what the checkpoint holds
            self.class_names = list(names or self.class_names)
            self.hparams.ensemble = members
            self.members = self._build(len(self.class_names)).to(self.device)
            self.metrics = nn.ModuleDict()

    def configure_optimizers(self):
        decay = [p for n, p in self.named_parameters() if p.ndim > 1]
        other = [p for n, p in self.named_parameters() if p.ndim <= 1]  # no decay on BN, PReLU and biases
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": self.hparams.weight_decay},
                                 {"params": other, "weight_decay": 0.0}], lr=self.hparams.lr)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=self.hparams.lr,
                                                    total_steps=max(1, int(self.trainer.estimated_stepping_batches)))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def _takes(factory: NetFactory, name: str) -> bool:
    """Whether the net factory has a parameter ``name`` (a class, a function, or a recipe's partial of a class)."""
    if isinstance(factory, functools.partial):
        return name in factory.keywords or any(_takes(a, name) for a in factory.args if isinstance(a, type))
    try:
        return name in inspect.signature(factory).parameters
    except (TypeError, ValueError):  # a builtin or C callable: nothing to hand it
        return False


def member_probs(members: nn.ModuleList, x: torch.Tensor, flip: bool = False) -> torch.Tensor:
    """Each member's probabilities (M, B, K), the mean over the input and its mirror image where ``flip``."""
    views = [x, x.flip(-1)] if flip else [x]
    return torch.stack([torch.stack([m(v).softmax(-1) for v in views]).mean(0) for m in members])


def mean_probs(members: nn.ModuleList, x: torch.Tensor, flip: bool = False) -> torch.Tensor:
    """The members' mean probabilities (B, K), also over the mirrored input where ``flip``."""
    return member_probs(members, x, flip).mean(0)


class MeanProbs(nn.Module):
    """The members alone as a plain module (what export traces): (B, ...) -> (B, K) mean probabilities."""

    def __init__(self, members: nn.ModuleList, flip: bool = False):
        super().__init__()
        self.members, self.flip = members, flip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return mean_probs(self.members, x, self.flip)


def label_map(data_names: list[str], model_names: list[str]) -> torch.Tensor | None:
    """Map the data's labels onto the model's by class name; ``None`` when they already agree."""
    if list(data_names) == list(model_names):
        return None
    unknown = [n for n in data_names if n not in model_names]
    if unknown:
        raise ValueError(f"the test data has classes {unknown} that the model does not know; "
                         f"it was trained on {list(model_names)}")
    return torch.tensor([model_names.index(n) for n in data_names])
