"""``blackmagic export``: a checkpoint to a torch.export program and ONNX, with a size and CPU-latency report.

    blackmagic export --ckpt runs/fashion_mnist/version_0/checkpoints/best.ckpt --out exports/fashion_mnist

Writes ``model.pt2`` (``torch.export``: load it with ``torch.export.load(path).module()``), ``model.onnx`` (the
torch.export-based exporter, opset of the installed torch), ``classes.json`` and ``report.json``. Both take the
network's input (images squeezed to [-1, 1], or waveforms) with any batch size and return the class
probabilities averaged over the ensemble's members; both are checked against the eager model at batch 1 and 64.
TorchScript (``model.ts``) is no longer written: it is deprecated upstream (torch 2.10, Lightning 2.6).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Callable

import torch

from ..harness.checkpoint_io import CheckpointError, read_checkpoint
from .classifier import ClassifierModule, MeanProbs

BATCHES = (1, 64)  # checked and timed
MAX_BATCH = 1 << 16  # the exported programs' batch dimension runs from 1 to this
FILES = ("model.pt2", "model.onnx")
TOLERANCE = {"torch_export": (1e-4, 1e-5), "onnxruntime": (1e-3, 1e-4)}  # (rtol, atol) against eager


def load(ckpt: Path) -> ClassifierModule:
    """The checkpoint's module in eval mode on the CPU; a ``CheckpointError`` naming the file if it is unusable."""
    read_checkpoint(ckpt)  # missing, empty, truncated or not a Lightning checkpoint: a message naming the file
    try:
        model = ClassifierModule.load_from_checkpoint(ckpt, map_location="cpu", weights_only=False)
    except Exception as e:  # a Lightning checkpoint of another module, or of a net that no longer builds
        raise CheckpointError(f"{ckpt}: not a blackmagic ClassifierModule checkpoint "
                              f"({type(e).__name__}: {e})") from None
    return model.eval()


def latency_ms(fn: Callable[[], object], repeats: int = 30, budget_s: float = 1.0) -> float:
    """Median wall time of ``fn`` in milliseconds after one warm-up call: ``repeats`` runs, or fewer (at least 5)
    once ``budget_s`` seconds are spent."""
    fn()
    times: list[float] = []
    while len(times) < repeats and (len(times) < 5 or sum(times) < budget_s * 1e3):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def export(ckpt: Path, out: Path, input_shape: tuple[int, ...] | None = None) -> dict:
    """Write ``model.pt2``, ``model.onnx``, ``classes.json`` and ``report.json`` under ``out``; return the report."""
    import onnx
    import onnxruntime

    module = load(ckpt)
    model = MeanProbs(module.members, module.hparams.get("test_time_flip", False)).eval()
    shape = tuple(input_shape or module.input_shape or ())
    if not shape:
        raise ValueError(f"export: {ckpt} does not record its input shape; pass --input-shape C,H,W (or C,T)")
    out.mkdir(parents=True, exist_ok=True)
    pt2, onnx_path = out / FILES[0], out / FILES[1]
    example = torch.zeros(2, *shape)  # a batch of 2: torch.export would specialise a batch of 1
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporters' progress notes and deprecation chatter
        program = torch.export.export(model, (example,), dynamic_shapes={"x": {0: batch}})
        torch.export.save(program, pt2)
        torch.onnx.export(program, (example,), str(onnx_path), input_names=["input"], output_names=["probs"],
                          dynamo=True, external_data=False, verbose=False)
        loaded = torch.export.load(pt2).module()  # what a user gets back from the file
    onnx.checker.check_model(str(onnx_path))
    options = onnxruntime.SessionOptions()
    # onnxruntime's idle threads spin for a while after each run, which would starve (and slow) the torch timings.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    report = {"checkpoint": str(ckpt), "input_shape": list(shape), "classes": module.class_names,
              "parameters": sum(p.numel() for p in model.parameters()), "ensemble": len(module.members),
              "cpu_threads": torch.get_num_threads()}  # timings on a busy machine drift with its load
    gen = torch.Generator().manual_seed(0)
    for b in BATCHES:
        x = torch.randn(b, *shape, generator=gen).clamp(-1, 1)
        runs = {"eager": lambda: model(x), "torch_export": lambda: loaded(x),
                "onnxruntime": lambda: torch.from_numpy(session.run(None, {"input": x.numpy()})[0])}
        with torch.no_grad():
            got = {k: fn() for k, fn in runs.items()}
            for k, (rtol, atol) in TOLERANCE.items():
                path = {"torch_export": pt2, "onnxruntime": onnx_path}[k]
                torch.testing.assert_close(got[k], got["eager"], rtol=rtol, atol=atol, msg=lambda m: f"{path}: {m}")
            report[f"max_abs_error_batch{b}"] = {k: float((got[k] - got["eager"]).abs().max()) for k in TOLERANCE}
            report[f"cpu_ms_batch{b}"] = {k: latency_ms(fn) for k, fn in runs.items()}
    report["files_mb"] = {name: (out / name).stat().st_size / 2**20 for name in FILES}
    (out / "classes.json").write_text(json.dumps(module.class_names, indent=1))
    (out / "report.json").write_text(json.dumps(report, indent=1))
    return report


def format_report(r: dict) -> str:
    lines = [f"{r['checkpoint']}: {r['parameters']:,} parameters ({r['ensemble']} member(s)), input {r['input_shape']}"]
    lines += [f"  {name:<12s} {mb:7.2f} MB" for name, mb in r["files_mb"].items()]
    for b in BATCHES:
        t, err = r[f"cpu_ms_batch{b}"], r[f"max_abs_error_batch{b}"]
        lines.append(f"  CPU latency ({r['cpu_threads']} threads), batch {b:>2d}: "
                     + ", ".join(f"{k} {v:.2f} ms" for k, v in t.items())
                     + "  (max |difference| to eager: " + ", ".join(f"{k} {v:.1e}" for k, v in err.items()) + ")")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="blackmagic export", description=__doc__.splitlines()[0],
        epilog="TorchScript is not written any more (deprecated upstream); load model.pt2 with "
               "torch.export.load(path).module(), or model.onnx with onnxruntime.")
    ap.add_argument("--ckpt", type=Path, required=True, help="a checkpoint of a run (e.g. checkpoints/best.ckpt)")
    ap.add_argument("--out", type=Path, required=True,
                    help="folder for model.pt2 (torch.export), model.onnx, classes.json, report.json")
    ap.add_argument("--input-shape", default=None, help="C,H,W or C,T (default: as recorded in the checkpoint)")
    args = ap.parse_args(argv)
    try:
        shape = tuple(int(v) for v in args.input_shape.split(",")) if args.input_shape else None
    except ValueError:
        ap.error(f"--input-shape: write whole numbers separated by commas, e.g. 1,28,28; got {args.input_shape!r}")
    try:
        report = export(args.ckpt, args.out, shape)
    except (CheckpointError, ValueError) as e:
        print(f"blackmagic export: error: {e}", file=sys.stderr)
        return 2
    print(format_report(report))
    print(f"wrote {args.out}/{', '.join(FILES)}, classes.json, report.json")
    return 0
