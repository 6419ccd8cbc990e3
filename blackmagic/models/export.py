"""``blackmagic export``: a checkpoint to TorchScript and ONNX files, with a size and CPU-latency report.

    blackmagic export --ckpt runs/fashion_mnist/version_0/checkpoints/best.ckpt --out exports/fashion_mnist

The exported graph takes the network's input (images squeezed to [-1, 1], or waveforms) and returns the
class probabilities, averaged over the ensemble's members. The class names are written beside it.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path
from typing import Callable

import torch

from .classifier import ClassifierModule, MeanProbs


def load(ckpt: Path) -> ClassifierModule:
    if not ckpt.is_file():
        raise FileNotFoundError(f"export: no checkpoint at {ckpt}")
    model = ClassifierModule.load_from_checkpoint(ckpt, map_location="cpu", weights_only=False)
    return model.eval()


def latency_ms(fn: Callable[[], object], repeats: int = 30) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def export(ckpt: Path, out: Path, input_shape: tuple[int, ...] | None = None) -> dict:
    """Write ``model.ts``, ``model.onnx`` and ``classes.json`` under ``out``; return the report."""
    module = load(ckpt)
    model = MeanProbs(module.members).eval()
    shape = tuple(input_shape or module.input_shape or ())
    if not shape:
        raise ValueError(f"export: {ckpt} does not record its input shape; pass --input-shape C,H,W (or C,T)")
    out.mkdir(parents=True, exist_ok=True)
    example = torch.zeros(1, *shape)
    report = {"checkpoint": str(ckpt), "input_shape": list(shape), "classes": module.class_names,
              "parameters": sum(p.numel() for p in model.parameters()), "ensemble": len(module.members)}
    (out / "classes.json").write_text(json.dumps(module.class_names, indent=1))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(model, example)
        traced.save(str(out / "model.ts"))
        # The torch.export-based exporter: it also handles the audio front end's STFT.
        torch.onnx.export(model, (example,), str(out / "model.onnx"), input_names=["input"], output_names=["probs"],
                          dynamo=True, dynamic_shapes={"x": {0: torch.export.Dim("batch")}}, external_data=False,
                          verbose=False)
    import onnx
    import onnxruntime

    onnx.checker.check_model(str(out / "model.onnx"))
    session = onnxruntime.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    for batch in (1, 64):
        x = torch.randn(batch, *shape).clamp(-1, 1)
        with torch.no_grad():
            eager = model(x)
            onnx_out = torch.from_numpy(session.run(None, {"input": x.numpy()})[0])
            torch.testing.assert_close(traced(x), eager, rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(onnx_out, eager, rtol=1e-3, atol=1e-4)
            report[f"cpu_ms_batch{batch}"] = {
                "eager": latency_ms(lambda: model(x)),
                "torchscript": latency_ms(lambda: traced(x)),
                "onnxruntime": latency_ms(lambda: session.run(None, {"input": x.numpy()})),
            }
    report["files_mb"] = {p.name: p.stat().st_size / 2**20 for p in sorted(out.iterdir()) if p.suffix in (".ts", ".onnx")}
    (out / "report.json").write_text(json.dumps(report, indent=1))
    return report


def format_report(r: dict) -> str:
    lines = [f"{r['checkpoint']}: {r['parameters']:,} parameters ({r['ensemble']} member(s)), input {r['input_shape']}"]
    lines += [f"  {name:<12s} {mb:7.2f} MB" for name, mb in r["files_mb"].items()]
    for batch in (1, 64):
        t = r[f"cpu_ms_batch{batch}"]
        lines.append(f"  CPU latency, batch {batch:>2d}: " + ", ".join(f"{k} {v:.2f} ms" for k, v in t.items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="blackmagic export", description=__doc__.splitlines()[0])
    ap.add_argument("--ckpt", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True, help="folder for model.ts, model.onnx, classes.json, report.json")
    ap.add_argument("--input-shape", default=None, help="C,H,W or C,T (default: as recorded in the checkpoint)")
    args = ap.parse_args(argv)
    shape = tuple(int(v) for v in args.input_shape.split(",")) if args.input_shape else None
    try:
        report = export(args.ckpt, args.out, shape)
    except (FileNotFoundError, ValueError) as e:
        ap.error(str(e))
    print(format_report(report))
    print(f"wrote {args.out}/model.ts, model.onnx, classes.json, report.json")
    return 0
