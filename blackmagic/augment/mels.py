"""The HTK mel scale (torchaudio's default, and the one audiomentations draws cutoffs and centres on)."""
import math

import torch


def hz_to_mel(hz: float) -> float:
    return 2595 * math.log10(1 + hz / 700)


def mel_to_hz(mel):
    """Mels to Hz on either backend's values (torch tensors or DALI data nodes)."""
    if isinstance(mel, torch.Tensor):
        return 700 * (torch.pow(10.0, mel / 2595) - 1)
    from nvidia.dali import math as dmath

    return 700 * (dmath.pow(10.0, mel / 2595) - 1)
