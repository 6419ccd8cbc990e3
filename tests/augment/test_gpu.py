"""On CUDA: no pipeline call synchronises with the host (skipped without CUDA)."""
import pytest
import torch

from blackmagic import augment

from .cases import CASES, sample_input


@pytest.mark.gpu
@pytest.mark.parametrize("name", sorted(CASES))
def test_no_host_sync_in_a_pipeline_call(name):
    case = CASES[name]
    pipe = case.prepare(augment.build([case.item], seed=0, sample_rate=16_000)).to("cuda")
    x = sample_input(case.shape, "cuda")
    case.run(pipe, x)  # first call caches per-device constants and checks the first batch's values
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        case.run(pipe, x)
    finally:
        torch.cuda.set_sync_debug_mode("default")


@pytest.mark.gpu
def test_whole_vision_chain_without_sync_and_matching_cpu_statistics():
    spec = [{"noise": {"std": [0, 0.05]}}, {"pixel_dropout": {"rate": [0, 0.05]}},
            {"color_shift": {"brightness": 0.2, "contrast": 0.2, "saturation": 0.2, "hue": 0.05}},
            {"rotate": {"degrees": 30}}, {"blur": {"sigma": [0.1, 2.0]}}]
    pipe = augment.build(spec, seed=0)
    x = torch.randint(0, 256, (512, 3, 32, 32), dtype=torch.uint8, device="cuda")
    pipe(x)
    torch.cuda.set_sync_debug_mode("error")
    try:
        y = pipe(x)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    ref = augment.build(spec, seed=0)(x.cpu())
    assert abs(float(y.mean()) - float(ref.mean())) < 0.02
