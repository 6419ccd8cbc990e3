"""``blackmagic robustness``: checkpoints tested on a recipe's test set, clean and under every corruption and
severity of a suite (``augment.suite``); a CSV, a heatmap PNG and a table on the terminal."""
from .command import main
from .evaluate import robustness
from .heatmap import heatmap
from .results import Row

__all__ = ["Row", "heatmap", "main", "robustness"]
