"""Run a spec on DALI's CPU backend over NumPy batches (device_id=None: no GPU needed)."""
from __future__ import annotations

import numpy as np

from blackmagic import augment


def run_dali(spec, batch: np.ndarray, seed: int | None = 0, iterations: int = 1, channels: int = 3,
             scale: float = 1.0, sample_rate: int = 16_000, pipeline_seed: int = 1):
    """Augment ``batch`` ((B, H, W, C) images or (B, T) audio) ``iterations`` times; return a list of
    ``(outputs (B, ...), {op key: {param: (B, ...)}})``."""
    from nvidia.dali import fn, pipeline_def

    aug = augment.build(spec, backend="dali", seed=seed, sample_rate=sample_rate)
    samples = [np.ascontiguousarray(s) for s in batch]
    order: list[tuple[str, str]] = []

    @pipeline_def(batch_size=len(samples), num_threads=1, device_id=None, seed=pipeline_seed)
    def pipe():
        x = fn.external_source(source=lambda: samples, batch=True, layout="HWC" if batch.ndim == 4 else None)
        out, params = aug(x, channels=channels, scale=scale, return_params=True)
        order.extend((k, n) for k in sorted(params) for n in sorted(params[k]))
        return (out, *[params[k][n] for k, n in order])

    p = pipe()
    p.build()
    results = []
    for _ in range(iterations):
        arrays = [np.stack([np.asarray(t) for t in o]) for o in p.run()]
        params: dict[str, dict[str, np.ndarray]] = {}
        for (k, n), a in zip(order, arrays[1:]):
            params.setdefault(k, {})[n] = a
        results.append((arrays[0], params))
    return results
