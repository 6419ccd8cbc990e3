"""Every transform, one file each. Importing this package registers them all."""
from . import (  # noqa: F401
    background_noise,
    blur,
    color_shift,
    distortion,
    flip,
    gain,
    noise,
    noise_snr,
    pixel_dropout,
    rotate,
    scale,
    spec_masks,
    time_shift,
    translate,
    whiten,
)
