"""The CPU draws from 16-bit uniforms: every lane uniform, normals normal, Bernoulli rates as asked."""
import torch
from scipy import stats

from blackmagic.augment.random16 import _uniform16, bernoulli, standard_normal

CPU = torch.device("cpu")


def test_every_16_bit_lane_of_a_draw_is_uniform():
    u = _uniform16(4 * 200_000, torch.Generator().manual_seed(0)).view(-1, 4)
    assert u.min() >= 0 and (u.max(0).values == 65535).all()
    for lane in u.T:  # one chi-square test per lane on 64 equal bins
        counts = torch.bincount(lane // 1024, minlength=64).numpy()
        assert stats.chisquare(counts).pvalue > 1e-4


def test_standard_normal_is_normal_with_unit_variance():
    z = standard_normal((50, 4000), torch.Generator().manual_seed(1), CPU)
    assert z.shape == (50, 4000) and z.dtype == torch.float32
    assert abs(float(z.mean())) < 0.01 and abs(float(z.std()) - 1) < 0.01
    assert stats.kstest(z.flatten().numpy(), "norm").pvalue > 1e-3
    assert float(z.abs().max()) < 4.5  # the table's tails end at about 4.3 sigma


def test_bernoulli_rates_per_sample_including_never_and_always():
    rate = torch.tensor([0.0, 0.01, 0.2, 0.5, 1.0]).view(5, 1, 1, 1)
    m = bernoulli((5, 1, 200, 200), rate, torch.Generator().manual_seed(2), CPU)
    frac = m.float().mean((1, 2, 3))
    assert frac[0] == 0 and frac[4] == 1
    for got, want in zip(frac[1:4].tolist(), (0.01, 0.2, 0.5)):
        assert stats.binomtest(round(got * 40_000), 40_000, want).pvalue > 1e-4


def test_same_generator_state_same_draws():
    a = standard_normal((3, 7), torch.Generator().manual_seed(5), CPU)
    b = standard_normal((3, 7), torch.Generator().manual_seed(5), CPU)
    assert torch.equal(a, b)
