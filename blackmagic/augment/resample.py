"""Band-limited resampling by a per-sample factor, for a whole batch at once (``speed``, ``pitch_shift``).

Output sample ``n`` of clip ``b`` is the input read at position ``n * factor[b]`` (in input samples) through a
Kaiser-windowed sinc (12 zero crossings each side, beta 5) whose cutoff sits at 0.88 of Nyquist, lowered to
``0.88 / factor`` where a clip is sped up (factor > 1): what would fold back below the new Nyquist frequency is
attenuated by about 55 dB, and the band up to 0.75 of Nyquist passes within 0.05 dB. (torchaudio's default kernel,
a Hann window over 6 zero crossings at 0.99, lets a 7 kHz tone sped up by 1.25 alias at -13 dB.) At a rational
factor such as 5/4 this is exactly ``torchaudio.functional.resample(x, 5, 4, lowpass_filter_width=12,
rolloff=0.88, resampling_method="sinc_interp_kaiser", beta=5.0)``.

Every output sample takes the same number of taps around ``floor(n * factor)`` (set by the largest factor the op
may draw), so the batch is two row gathers and a small matrix product. The taps' weights come from a per-clip
table of the kernel at 256 fractional positions, interpolated linearly in between (within 2e-5 of the exact
kernel's output on white noise): table reads instead of a sine and a Bessel function per tap. Outputs are made in
runs of about a million (outputs x taps) values on CPU (near the cache, and few enough runs that the machine's
threads are not woken for every small step), 16 million elsewhere (bounded memory).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

ZEROS = 12  # zero crossings of the sinc on each side (torchaudio's lowpass_filter_width)
ROLLOFF = 0.88  # cutoff as a fraction of the lower Nyquist frequency (torchaudio's rolloff)
BETA = 5.0  # the Kaiser window's shape
FINE = 512  # samples of the kernel's shape per zero crossing (linear interpolation in between: error < 2e-6)
PHASES = 256  # table rows per input sample (a power of two: fractions like 1/4 fall exactly on a row)
RUN_ELEMENTS = {"cpu": 1 << 20}  # (outputs x taps) values made at a time on CPU; 1 << 24 elsewhere
_shapes: dict[torch.device, torch.Tensor] = {}


def reach(max_factor: float) -> int:
    """``J``: taps ``j = -J .. J + 1`` around ``floor(position)`` cover the kernel of every factor up to this."""
    return math.floor(ZEROS * max(1.0, max_factor) / ROLLOFF)


def kernel_table(factor: torch.Tensor, J: int) -> torch.Tensor:
    """(B, PHASES + 1, 2J + 2): the kernel's weight on tap ``j`` for an output at fraction ``p / PHASES`` past
    ``floor(position)``. As torchaudio: ``c sinc(c d) kaiser(c d / ZEROS)`` for ``|c d| <= ZEROS``, where ``d`` is the
    tap's distance from the position in input samples and ``c`` the cutoff (1 = the input's Nyquist)."""
    device = factor.device
    c = ROLLOFF * torch.clamp(1.0 / factor, max=1.0)[:, None, None]  # (B, 1, 1)
    frac = torch.arange(PHASES + 1, device=device, dtype=torch.float32)[:, None] / PHASES  # (P + 1, 1)
    taps = torch.arange(-J, J + 2, device=device, dtype=torch.float32)  # (K,)
    at = (c * (taps - frac)).abs_().mul_(FINE)  # (B, P + 1, K): |distance| in half periods of the cutoff, x FINE
    i = at.floor().clamp_(max=ZEROS * FINE)
    w = at - i
    i = i.long()
    shape = _shape(device)
    h = torch.lerp(shape[i], shape[i + 1], w)
    return torch.where(at <= ZEROS * FINE, h * c, 0.0)


def _shape(device: torch.device) -> torch.Tensor:
    """The kernel ``sinc(u) kaiser(u / ZEROS)`` at ``u = k / FINE`` for ``0 <= u <= ZEROS`` (plus one zero past the
    end), computed once per device: the Kaiser window's Bessel function is slow on CPU."""
    if device not in _shapes:
        u = torch.arange(ZEROS * FINE + 2, dtype=torch.float64) / FINE
        window = torch.special.i0(BETA * torch.sqrt((1 - (u / ZEROS).square()).clamp(min=0)))
        g = torch.sinc(u) * window / torch.special.i0(torch.tensor(BETA, dtype=torch.float64))
        g[ZEROS * FINE :] = 0  # sinc's zero at u = ZEROS, and nothing beyond
        _shapes[device] = g.to(device, torch.float32)
    return _shapes[device]


def resample(x: torch.Tensor, factor: torch.Tensor, length: int, max_factor: float) -> torch.Tensor:
    """Read each clip at positions ``n * factor`` for ``n < length``, band-limited; zero beyond the input.

    Args:
        x: (B, C, T) float32 waveforms.
        factor: (B,) positive factors, at most ``max_factor``: > 1 reads faster (higher, shorter), < 1 slower.
        length: output samples per clip.
        max_factor: the largest factor that may be drawn (sets the number of taps; known when the op is built).

    Returns:
        (B, C, length) float32.
    """
    B, C, T = x.shape
    J = reach(max_factor)
    K = 2 * J + 2
    device = x.device
    table = kernel_table(factor, J)
    # one row per (clip, phase): the weights at that phase, then their steps to the next phase
    table = torch.cat([table[:, :-1], table[:, 1:] - table[:, :-1]], -1).reshape(B * PHASES, 2 * K)
    # padded[i] = x[i - J]: the K values from ``start`` on are the taps j = -J .. J + 1 around ``start``
    padded = F.pad(x, (J, K)).reshape(-1)
    width = T + J + K
    windows = padded.unfold(0, K, 1)  # (B * C * width - K + 1, K), a view
    rows = torch.arange(B, device=device)[:, None] * PHASES  # (B, 1)
    lanes = torch.arange(B * C, device=device).view(B, C, 1) * width  # (B, C, 1)
    scale = factor.double()[:, None]
    out = torch.empty(B, C, length, device=device, dtype=x.dtype)
    run = max(1, RUN_ELEMENTS.get(device.type, 1 << 24) // (B * C * K))
    for first in range(0, length, run):
        m = min(run, length - first)
        pos = torch.arange(first, first + m, device=device, dtype=torch.float64) * scale  # (B, m)
        # Positions in float64: in float32, n * factor drifts by 1e-3 samples at n = 16000. Past the end of the
        # input every tap reads zero padding, so clamping there changes nothing and keeps the reads in bounds.
        start = pos.floor()
        phase = (pos - start).mul_(PHASES)
        start.clamp_(max=T + J)
        row = phase.floor().clamp_(max=PHASES - 1)
        w = (phase - row).float()[..., None]  # (B, m, 1) in [0, 1)
        g = table.index_select(0, (rows + row.long()).view(-1)).view(B, m, 2 * K)
        h = torch.addcmul(g[..., :K], g[..., K:], w)  # (B, m, K)
        taps = windows.index_select(0, (lanes + start.long()[:, None, :]).view(-1)).view(B, C, m, K)
        out[..., first : first + m] = torch.einsum("bcmk,bmk->bcm", taps, h)
    return out
