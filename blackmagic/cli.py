"""The ``blackmagic`` command: LightningCLI subcommands (fit, validate, test, predict) plus ``train`` (fit then
test), ``robustness`` (corruption suites), ``preview`` (a picture of a spec) and ``export`` (torch.export
``.pt2``, ONNX and a size report)."""
from __future__ import annotations

import sys

EXTRA = {
    "train": "blackmagic.harness.train",
    "preview": "blackmagic.augment.preview",
    "export": "blackmagic.models.export",
    "robustness": "blackmagic.harness.robustness",
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in EXTRA:
        import importlib

        return importlib.import_module(EXTRA[argv[0]]).main(argv[1:])
    from .harness.cli import run_lightning

    return run_lightning(argv)


if __name__ == "__main__":
    sys.exit(main())
