"""Accuracy, negative log-likelihood and expected calibration error of predicted probabilities."""
from __future__ import annotations

import torch
from torch import nn
from torchmetrics import MeanMetric
from torchmetrics.classification import MulticlassAccuracy, MulticlassCalibrationError


class ProbabilityMetrics(nn.Module):
    """Accumulates ``acc``, ``nll`` and ``ece`` (15 bins) over batches of probabilities (B, K) and labels (B,)."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.acc = MulticlassAccuracy(num_classes, average="micro")
        self.ece = MulticlassCalibrationError(num_classes, n_bins=15)
        self.nll = MeanMetric()

    def update(self, probs: torch.Tensor, target: torch.Tensor) -> None:
        self.acc.update(probs, target)
        self.ece.update(probs, target)
        picked = probs.gather(1, target[:, None])[:, 0]
        self.nll.update(-picked.clamp_min(1e-12).log())

    def compute(self) -> dict[str, torch.Tensor]:
        return {"acc": self.acc.compute(), "nll": self.nll.compute(), "ece": self.ece.compute()}

    def reset(self) -> None:
        for m in (self.acc, self.ece, self.nll):
            m.reset()
