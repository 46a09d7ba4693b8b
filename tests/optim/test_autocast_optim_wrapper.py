"""AutocastOptimWrapper: bfloat16 forward passes on CPU, float32 weights."""
import pytest
import torch
from mmengine.config import Config

from custom_modules.optim import (AutocastOptimWrapper, autocast_dtype,
                                  autocast_optim_wrapper)


def conv_and_wrapper(**kwargs):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
    wrapper = AutocastOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1), **kwargs)
    return model, wrapper


def test_forward_in_bfloat16_weights_and_grads_in_float32():
    model, wrapper = conv_and_wrapper(force=True)
    before = model[0].weight.detach().clone()
    with wrapper.optim_context(model):
        out = model(torch.randn(2, 3, 8, 8))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().square().mean())
    assert model[0].weight.dtype == torch.float32
    assert model[0].weight.grad is None  # zeroed after the step
    assert not torch.equal(model[0].weight, before)  # the step happened


def test_float32_with_one_warning_where_bfloat16_is_not_native(
        monkeypatch):
    monkeypatch.setattr(autocast_optim_wrapper, 'native_autocast',
                        lambda dtype, device: False)
    logged = []
    monkeypatch.setattr(autocast_optim_wrapper, 'print_log',
                        lambda msg, **kw: logged.append((msg, kw)))
    model, wrapper = conv_and_wrapper()
    for _ in range(2):
        with wrapper.optim_context(model):
            out = model(torch.randn(2, 3, 8, 8))
        assert out.dtype == torch.float32
    assert len(logged) == 1  # once, not per iteration
    assert 'is not native on this cpu' in logged[0][0]
    assert logged[0][1]['level'] == 30  # WARNING
    # force=True autocasts anyway
    model, forced = conv_and_wrapper(force=True)
    with forced.optim_context(model):
        assert model(torch.randn(1, 3, 8, 8)).dtype == torch.bfloat16


def test_autocast_dtype_follows_the_config(monkeypatch):
    cfg = Config(dict(optim_wrapper=dict(type='AutocastOptimWrapper',
                                         dtype='bfloat16')))
    plain = Config(dict(optim_wrapper=dict(type='OptimWrapper')))
    monkeypatch.setattr(autocast_optim_wrapper, 'native_autocast',
                        lambda dtype, device: True)
    assert autocast_dtype(cfg, 'cpu') == torch.bfloat16
    assert autocast_dtype(plain, 'cpu') is None
    monkeypatch.setattr(autocast_optim_wrapper, 'native_autocast',
                        lambda dtype, device: False)
    assert autocast_dtype(cfg, 'cpu') is None
    cfg.optim_wrapper.force = True
    assert autocast_dtype(cfg, 'cpu') == torch.bfloat16


def test_unknown_dtype_is_refused():
    with pytest.raises(ValueError, match="dtype='float64'"):
        conv_and_wrapper(dtype='float64')
