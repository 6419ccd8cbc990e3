"""Butterworth filters designed per sample on the batch's device, and applied as biquad cascades.

The design gives the transfer functions of ``scipy.signal.butter(order, cutoff, btype, fs=fs, output="sos")``
(digital, bilinear transform with pre-warping) for a per-sample order and cutoff, as ``(B, sections, 3)``
numerator and denominator tensors; a sample of lower order than the widest one gets identity sections. The
filtering follows ``scipy.signal.sosfilt`` started in the steady state of the first sample (``zi =
sosfilt_zi(sos) * x[0]``, as audiomentations does) and ``scipy.signal.sosfiltfilt`` (odd extension, forward and
backward), with torchaudio's IIR recursion (the core of ``torchaudio.functional.lfilter``) running every sample's
own coefficients in one call per section.
"""
from __future__ import annotations

import math

import torch
from torchaudio.functional.filtering import _lfilter_core_loop

# A biquad recursion with poles near z = 1 amplifies rounding: in float32 a 20 Hz high-pass at 16 kHz is off by
# 1e-4 (2000x float32's rounding of its output), so the coefficients and the recursion are float64.
WORK = torch.float64


def sections(kind: str, max_order: int) -> int:
    """How many biquads a filter of ``kind`` (lowpass, highpass, bandpass) and order up to ``max_order`` needs."""
    return max_order if kind == "bandpass" else (max_order + 1) // 2


def filtfilt_edge(kind: str, order: int | torch.Tensor) -> int | torch.Tensor:
    """``sosfiltfilt``'s default odd-extension length for these filters: 3 * (2 * sections + 1 - first-order
    sections), i.e. 3 * (order + 1) for low/high-pass and 3 * (2 * order + 1) for band-pass."""
    return 3 * (2 * order + 1) if kind == "bandpass" else 3 * (order + 1)


def butterworth(kind: str, order: torch.Tensor, count: int, low: torch.Tensor,
                high: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample digital Butterworth filters as biquad sections.

    Args:
        kind: ``lowpass``, ``highpass`` (cutoff ``low``) or ``bandpass`` (edges ``low`` < ``high``).
        order: (B,) whole numbers >= 1, scipy's ``N`` (a band-pass of order N has 2N poles).
        low, high: (B,) cutoffs as fractions of the sample rate, in (0, 0.5).
        count: sections to return, ``sections(kind, largest order)`` (known when the op is built: no host sync).

    Returns:
        ``(b, a)``: (B, count, 3) float64, section ``s`` being ``(b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2)``.
    """
    n = order.to(WORK)[:, None]  # (B, 1)
    j = torch.arange(count, device=order.device, dtype=WORK)[None, :]  # (1, S)
    warp = lambda f: 2 * torch.tan(math.pi * f.to(WORK))[:, None]  # noqa: E731  analog edge for fs = 1
    if kind == "bandpass":
        return _bandpass(n, j, warp(low), warp(high))
    pair = j < torch.floor(n / 2)  # a conjugate pole pair per section, then one real pole if the order is odd
    real = (j == (n - 1) / 2) & ~pair
    p = _prototype_pole(n, j)  # (B, S): one pole of each conjugate pair, or the real pole -1
    s = warp(low) / p if kind == "highpass" else warp(low) * p  # lp2hp / lp2lp
    z = (2 + s) / (2 - s)  # bilinear transform
    one = torch.ones_like(z.real)
    zero = torch.zeros_like(one)
    a = torch.stack([one, torch.where(real, -z.real, -2 * z.real), torch.where(real, zero, z.abs() ** 2)], -1)
    sign = -1.0 if kind == "highpass" else 1.0  # zeros at z = +1 (high-pass) or z = -1 (low-pass)
    b = torch.stack([one, torch.where(real, sign * one, 2 * sign * one), torch.where(real, zero, one)], -1)
    ref = sign * one  # unit gain at z = 1 (low-pass) or z = -1 (high-pass)
    gain = _poly(a, ref) / _poly(b, ref)
    return _identity_beyond(b * gain[..., None], a, pair | real)


def _prototype_pole(n: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
    """scipy ``buttap`` pole ``-exp(i pi m / 2n)`` with m = 2j - n + 1 (upper half plane for j < n / 2)."""
    theta = math.pi * (2 * j - n + 1) / (2 * n)
    return torch.complex(-torch.cos(theta), -torch.sin(theta))


def _bandpass(n, j, lo, hi):
    """lp2bp: each prototype pole p gives s = p bw / 2 +- sqrt((p bw / 2)^2 - w0^2); sections pair each of those
    with its conjugate, and the odd order's real pole gives one section with both of its (real or conjugate) poles."""
    w0, bw = torch.sqrt(lo * hi), hi - lo
    pairs = 2 * torch.floor(n / 2)
    pair = j < pairs
    real = (j == n - 1) & ~pair
    lp = _prototype_pole(n, torch.floor(j / 2)) * (bw / 2)  # the odd order's last section gets the pole -1
    root = torch.sqrt(lp * lp - w0 * w0)
    bilinear = lambda s: (2 + s) / (2 - s)  # noqa: E731
    z1 = bilinear(torch.where(torch.remainder(j, 2) == 0, lp + root, lp - root))
    z2 = torch.where(real, bilinear(lp - root), z1.conj())
    one = torch.ones_like(z1.real)
    a = torch.stack([one, -(z1 + z2).real, (z1 * z2).real], -1)
    b = torch.stack([one, torch.zeros_like(one), -one], -1)  # zeros at z = 1 and z = -1
    centre = torch.polar(one, 2 * torch.atan(w0 / 2).expand_as(one))  # unit gain there, as the analog prototype
    gain = (_poly(a, centre) / _poly(b, centre)).abs()
    return _identity_beyond(b * gain[..., None], a, pair | real)


def _poly(c: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """c0 + c1 z^-1 + c2 z^-2 for (..., 3) coefficients at ``z``."""
    return c[..., 0] + c[..., 1] / z + c[..., 2] / (z * z)


def _identity_beyond(b, a, used):
    unit = torch.zeros_like(a)
    unit[..., 0] = 1
    used = used[..., None]
    return torch.where(used, b, unit), torch.where(used, a, unit)


def dc_gain(b: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """H(z = 1) of each cascade: (B, S, 3) -> (B,)."""
    return (b.sum(-1) / a.sum(-1)).prod(-1)


def sosfilt(x: torch.Tensor, b: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Filter ``x`` (B, C, T) by each sample's cascade, started in the steady state of its first value, as scipy's
    ``sosfilt(sos, x, zi=sosfilt_zi(sos) * x[..., 0])``. By linearity that is the zero-state filter of ``x - x0``
    plus the constant response ``H(1) x0``. Returns float64."""
    B, C, T = x.shape
    x0 = x[..., :1].to(WORK)
    y = (x.to(WORK) - x0).reshape(B * C, T)
    per_row = lambda c: c[:, None].expand(B, C, 3).reshape(B * C, 3)  # noqa: E731  each channel its sample's
    for s in range(a.shape[1]):
        y = biquad(y, per_row(b[:, s]), per_row(a[:, s]))
    return y.reshape(B, C, T) + x0 * dc_gain(b, a)[:, None, None]


def biquad(x: torch.Tensor, b: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """One zero-state section per row: x (N, T), b and a (N, 3) with a0 = 1, as ``lfilter(x, a, b, clamp=False)``.

    ``lfilter`` does its numerator as a grouped ``conv1d``, which in float64 on CPU runs group by group (about a
    second for a batch of 1 s clips); here it is three multiply-adds, and only lfilter's recursion core is called."""
    v = x * b[:, :1]
    v[:, 1:] += x[:, :-1] * b[:, 1:2]
    v[:, 2:] += x[:, :-2] * b[:, 2:]
    out = torch.zeros(1, x.shape[0], x.shape[1] + 2, device=x.device, dtype=x.dtype)
    _lfilter_core_loop(v[None], a.flip(1).contiguous(), out)  # y[n] = v[n] - a1 y[n - 1] - a2 y[n - 2]
    return out[0, :, 2:]


def sosfiltfilt(x: torch.Tensor, b: torch.Tensor, a: torch.Tensor, edge: torch.Tensor, max_edge: int) -> torch.Tensor:
    """Zero-phase filtering as scipy's ``sosfiltfilt(sos, x)`` with its default odd extension of ``edge`` (B,)
    samples (at most ``max_edge``, which ``x``'s length must exceed). Every sample is extended to the same length:
    before its own extension the first extended value is repeated, which keeps the forward filter in its steady
    state, and after the forward pass the last output is repeated, which keeps the backward one in its own.
    Returns float64."""
    B, C, T = x.shape
    E = max_edge
    pos = torch.arange(-E, T + E, device=x.device)[None, :]  # (1, L) signal coordinate of each padded position
    e = edge.to(pos.dtype)[:, None]
    s = torch.minimum(torch.maximum(pos, -e), T - 1 + e)  # (B, L)
    before, after = s < 0, s > T - 1
    src = torch.where(before, -s, torch.where(after, 2 * (T - 1) - s, s))
    v = x.to(WORK).gather(-1, src[:, None, :].expand(B, C, -1))
    first, last = x[..., :1].to(WORK), x[..., -1:].to(WORK)
    ext = torch.where(before[:, None], 2 * first - v, torch.where(after[:, None], 2 * last - v, v))
    y = sosfilt(ext, b, a)
    end = torch.minimum(pos + E, E + T - 1 + e)  # the backward pass starts at each sample's own end
    y = y.gather(-1, end[:, None, :].expand(B, C, -1))
    y = sosfilt(y.flip(-1), b, a).flip(-1)
    return y[..., E : E + T]
