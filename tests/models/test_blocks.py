import pytest
import torch
from torch import nn

from blackmagic.models import AudioNet, ConvBlock, Fire, SmallImageNet


def test_conv_block_pools_before_batchnorm_and_prelu_at_0_1():
    block = ConvBlock(3, 8)
    kinds = [type(m) for m in block]
    assert kinds == [nn.Conv2d, nn.MaxPool2d, nn.BatchNorm2d, nn.PReLU]
    assert block[0].bias is None
    assert torch.allclose(block[3].weight, torch.full((8,), 0.1))
    assert block(torch.randn(2, 3, 16, 16)).shape == (2, 8, 8, 8)


def test_fire_squeezes_with_1x1_and_expands_1x1_plus_3x3():
    fire = Fire(64, 16, 48)
    assert fire.squeeze[0].kernel_size == (1, 1) and fire.squeeze[0].out_channels == 16
    assert fire.expand1.kernel_size == (1, 1) and fire.expand3.kernel_size == (3, 3)
    assert fire(torch.randn(2, 64, 7, 7)).shape == (2, 96, 7, 7)


@pytest.mark.parametrize("net,x", [(SmallImageNet(1, 10), torch.randn(4, 1, 28, 28)),
                                   (SmallImageNet(3, 7), torch.randn(4, 3, 64, 64)),
                                   (AudioNet(1, 10), torch.randn(4, 1, 16000))])
def test_recipe_nets_are_small_and_put_dropout_only_after_wide_layers(net, x):
    assert sum(p.numel() for p in net.parameters()) < 1_000_000
    assert net(x).shape == (4, net.classifier[-1].out_features)
    linear_in = net.classifier[-1].in_features
    has_dropout = any(isinstance(m, nn.Dropout) for m in net.classifier)
    assert has_dropout == (linear_in > 256)
    prelus = [m for m in net.modules() if isinstance(m, nn.PReLU)]
    assert prelus and all(torch.allclose(m.weight, torch.full_like(m.weight, 0.1)) for m in prelus)


def test_narrow_head_gets_no_dropout():
    net = SmallImageNet(1, 10, widths=(8, 16, 32, 64, 128), dropout=0.5)
    assert not any(isinstance(m, nn.Dropout) for m in net.modules())


def test_audio_net_front_end_and_spec_augment_only_in_training():
    net = AudioNet(1, 4, spec_augment=[{"time_mask": {"width": [20, 20], "value": 0.0}}])
    wave = torch.randn(2, 1, 16000)
    spec = net.front(wave)
    assert spec.shape == (2, 1, 40, 101)
    torch.testing.assert_close(spec.mean((2, 3)), torch.zeros(2, 1), atol=1e-4, rtol=0)
    net.eval()
    assert torch.equal(net(wave), net(wave))
    net.train()
    masked = net.spec_augment(spec)
    assert ((masked == 0).all(2).sum(-1) == 20).all()


def test_standardize_front_end_is_blind_to_brightness_and_contrast():
    from blackmagic.models.blocks import Standardize

    x = torch.rand(4, 1, 28, 28)
    s = Standardize()
    y = s(x)
    torch.testing.assert_close(y.flatten(1).mean(1), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.flatten(1).std(1, correction=0), torch.ones(4), atol=1e-4, rtol=0)
    torch.testing.assert_close(s(0.4 * x + 0.3), y, atol=1e-4, rtol=0)
    flat = s(torch.full((2, 3, 5, 5), 0.7))
    assert torch.isfinite(flat).all() and flat.abs().max() < 1e-5  # a flat image stays (nearly) zero
    net = SmallImageNet(1, 10, standardize=True).eval()
    torch.testing.assert_close(net(x), net(0.5 * x - 0.2), atol=1e-4, rtol=0)
