"""The population's hand-written numerics against torch's own: the stacked backward pass
against autograd, per-network clipping against clip_grad_norm_, the critic's clipping
against the lone trainer's, and the guard on the private kernels it calls."""

import itertools

import pytest
import torch
from torch import nn

from tests.test_population import SMALL
from vpg_sim.core.config import config_for
from vpg_sim.core.population import stacked
from vpg_sim.core.population.stacked import StackedAdam, StackedMLP, UnsupportedTorchError, clip_grad_norms
from vpg_sim.core.population.trainer import PopulationTrainer
from vpg_sim.core.trainer import VPGTrainer


def nets(widths: tuple[int, ...], activation: type[nn.Module], count: int = 3) -> list[nn.Sequential]:
    """``count`` MLPs of ``widths`` (inputs first), ``activation`` between layers."""
    made = []
    for _ in range(count):
        layers: list[nn.Module] = []
        for fan_in, fan_out in itertools.pairwise(widths):
            layers += [nn.Linear(fan_in, fan_out), activation()]
        made.append(nn.Sequential(*layers[:-1]))
    return made


@pytest.mark.parametrize("activation", [nn.Tanh, nn.ReLU])
@pytest.mark.parametrize(
    "widths",
    [(4, 16, 16, 2), (4, 16, 16, 1), (3, 8, 6)],  # two logits, a critic's one output, a wide output
    ids=["logits", "critic", "wide"],
)
def test_stacked_backward_is_autograd_s_gradient(widths, activation):
    torch.manual_seed(0)
    made = nets(widths, activation)
    net = StackedMLP(made)
    inputs = torch.randn(len(made), 37, widths[0])
    outputs = net.forward_for_backward(inputs)
    grad_output = torch.randn_like(outputs)
    net.backward(grad_output)
    blocks = net.split(net.grad)  # per layer: weight (M, in, out), then bias (M, 1, out)
    for index, module in enumerate(made):
        out = module(inputs[index])
        torch.testing.assert_close(outputs[index], out, rtol=1e-5, atol=1e-6)
        (out * grad_output[index]).sum().backward()
        for parameter, block in zip(module.parameters(), blocks, strict=True):
            expected = parameter.grad.T if parameter.ndim == 2 else parameter.grad[None]
            torch.testing.assert_close(block[index], expected, rtol=1e-4, atol=1e-5)


def test_clip_grad_norms_scales_each_network_as_clip_grad_norm_does():
    torch.manual_seed(1)
    made = nets((4, 8, 2), nn.Tanh, count=4)
    net = StackedMLP(made)
    grads = torch.randn_like(net.grad) * torch.tensor([[0.01], [1.0], [10.0], [10.0]])  # under, at, over the bound
    net.grad.copy_(grads)
    max_norms = torch.tensor([0.5, 0.5, 0.5, torch.inf])  # the last: no clipping
    clip_grad_norms(net, max_norms)
    blocks, clipped = net.split(grads), net.split(net.grad)
    for index, module in enumerate(made):
        for parameter, block in zip(module.parameters(), blocks, strict=True):
            parameter.grad = (block[index].T if parameter.ndim == 2 else block[index, 0]).contiguous()
        torch.nn.utils.clip_grad_norm_(module.parameters(), max_norms[index].item())
        for parameter, block in zip(module.parameters(), clipped, strict=True):
            expected = parameter.grad.T if parameter.ndim == 2 else parameter.grad[None]
            torch.testing.assert_close(block[index], expected, rtol=1e-6, atol=1e-8)
    norms = torch.linalg.vector_norm(net.grad, dim=1)
    assert norms[0] < 0.5 and norms[1:3].tolist() == pytest.approx([0.5, 0.5], rel=1e-5) and norms[3] > 10


def test_the_population_clips_its_critics_as_the_lone_trainer_does():
    # A bound far under the critic's gradients (the MSE of returns near 10-20): every step is clipped.
    config = config_for("CartPole-v1", seed=2, value_max_grad_norm=0.05, **SMALL)
    trainer, population = VPGTrainer(config), PopulationTrainer([config])
    unclipped = VPGTrainer(config.replace(value_max_grad_norm=None))
    for _ in range(4):
        expected, got, free = trainer.train_update(), population.train_update()[0], unclipped.train_update()
        for name in ("value_loss", "explained_variance", "policy_loss", "approx_kl"):
            assert getattr(got, name) == pytest.approx(getattr(expected, name), rel=1e-3, abs=1e-6), name
    assert expected.value_loss != pytest.approx(free.value_loss, rel=1e-2)  # the clipping did act
    ours = population.checkpoint_of(0).value_state
    for name, theirs in trainer.value_net.state_dict().items():
        torch.testing.assert_close(ours[name], theirs, rtol=1e-3, atol=1e-5)
    for each in (trainer, population, unclipped):
        each.close()


@pytest.fixture
def fresh_kernel_check():
    stacked.check_private_kernels.cache_clear()
    yield
    stacked.check_private_kernels.cache_clear()


def test_a_torch_without_the_private_adam_kernel_is_refused_in_one_line(monkeypatch, fresh_kernel_check):
    monkeypatch.delattr(torch, "_fused_adam_")
    with pytest.raises(UnsupportedTorchError) as refused:
        StackedAdam(StackedMLP(nets((4, 8, 2), nn.Tanh)), [1e-3] * 3)
    message = str(refused.value)
    assert "\n" not in message and torch.__version__ in message and "install torch==2.13.0" in message
    assert "_fused_adam_" in message


def test_a_private_kernel_that_computes_otherwise_is_refused_too(monkeypatch, fresh_kernel_check):
    monkeypatch.setattr(torch, "_fused_adam_", lambda *args, **kwargs: None)  # same name, does nothing
    with pytest.raises(UnsupportedTorchError, match=r"torch\._fused_adam_ computes otherwise"):
        PopulationTrainer([config_for("CartPole-v1", **SMALL)])
    monkeypatch.undo()
    stacked.check_private_kernels.cache_clear()
    stacked.check_private_kernels()  # this torch's kernels pass
