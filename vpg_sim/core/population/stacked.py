"""M networks of one shape as stacked weights, and the per-network Adam and clipping.

A population's M policies (or critics) are evaluated together: layer l's weights are
one tensor ``(M, in, out)``, so a forward pass is one batched matmul per layer instead
of M small ones. All of network i's weights are row i of one buffer ``(M, P)`` (the
layers are views into it; a batched matmul takes the row stride at no cost, measured),
so that Adam, clipping, the NaN check and the snapshot for a rollback are a few
operations on one tensor, per row. Every operation keeps the M networks apart: nothing
sums or normalises across rows, so one network's NaN or step size reaches no other
(tested in ``tests/test_population.py``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

_tanh_backward = torch.ops.aten.tanh_backward.grad_input  # looked up once: ~0.5 us a call

NARROW = 4
"""Layers this narrow (a critic's one output, a policy's few logits) are multiplied the
other way round: MKL's batched matmul is slow with an inner or outer size of 1 or 2."""


PINNED_TORCH = "2.13.0"
"""The torch whose private kernels (``torch._fused_adam_``, ``aten.tanh_backward.grad_input``)
this module calls, as requirements.txt pins it."""


class UnsupportedTorchError(RuntimeError):
    """This torch lacks a private kernel the stacked networks call, or it computes otherwise."""


@functools.cache
def check_private_kernels() -> None:
    """Raise :class:`UnsupportedTorchError` (one line) unless this torch's private kernels
    that the population calls exist and compute what they did in the pinned torch: one
    fused Adam step and one tanh backward on a few numbers, against their formulas. Once
    per process: a private kernel may change or vanish in any torch release, and would
    otherwise fail mid-run with a traceback, or silently differ."""
    try:
        weight, grad = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 0.25])
        exp_avg, exp_avg_sq = torch.zeros(2), torch.zeros(2)
        torch._fused_adam_(  # one step from zero moments: w - lr * sign(g) (up to eps)
            [weight], [grad], [exp_avg], [exp_avg_sq], [], [torch.tensor(1.0)],
            lr=0.1, beta1=0.9, beta2=0.999, weight_decay=0.0, eps=1e-8, amsgrad=False, maximize=False,
        )  # fmt: skip
        adam_ok = torch.allclose(weight, torch.tensor([0.9, -2.1]), atol=1e-6)
        hidden, gradient = torch.tensor([0.5, -0.8]), torch.tensor([2.0, 1.0])
        torch.ops.aten.tanh_backward.grad_input(gradient, hidden, grad_input=gradient)
        tanh_ok = torch.allclose(gradient, torch.tensor([1.5, 0.36]), atol=1e-6)  # g (1 - h^2)
    except (AttributeError, RuntimeError, TypeError) as error:
        reason = f"{type(error).__name__}: {' '.join(str(error).split())[:120]}"
        raise UnsupportedTorchError(
            f"the population trainer calls private kernels of torch {PINNED_TORCH}, which torch "
            f"{torch.__version__} lacks ({reason}): install torch=={PINNED_TORCH}"
        ) from None
    if not (adam_ok and tanh_ok):
        wrong = "torch._fused_adam_" if not adam_ok else "aten.tanh_backward.grad_input"
        raise UnsupportedTorchError(
            f"torch {torch.__version__}'s private kernel {wrong} computes otherwise than torch {PINNED_TORCH}'s, "
            f"which the population trainer calls: install torch=={PINNED_TORCH}"
        )


def _activate(hidden: torch.Tensor, tanh: bool) -> None:
    """tanh or ReLU of ``hidden`` (contiguous), in place. tanh by numpy: its SIMD tanh is
    within 1 ulp and ~7x faster than torch's here (0.27 ms against 1.9 ms for 32 x 256 x 64)."""
    if tanh:
        array = hidden.numpy()
        np.tanh(array, out=array)
    else:
        hidden.relu_()


class StackedMLP:
    """M MLPs of the same widths: inputs ``(M, B, in)`` -> outputs ``(M, B, out)``.

    Gradients are computed by hand (:meth:`forward_for_backward`, :meth:`backward`), not
    by autograd: they go straight into the flat ``grad`` buffer, every intermediate lives
    in a buffer kept for reuse (see :meth:`_scratch`), and no graph is built: the weights
    never require grad, so neither do the outputs, without a ``no_grad`` context (entering
    one per call cost ~6 us, 4% of a population update of two agents). A loss's own
    gradient (a few ops on the output) may still come from autograd.

    :param nets: M ``nn.Sequential`` of Linear layers and one kind of activation (as
        ``networks.mlp`` builds them); their weights are copied, so the stack starts
        exactly where each net did.
    """

    def __init__(self, nets: Sequence[nn.Sequential]) -> None:
        linears = [[module for module in net if isinstance(module, nn.Linear)] for net in nets]
        kinds = {type(module) for net in nets for module in net if not isinstance(module, nn.Linear)}
        if len(kinds) > 1 or not kinds <= {nn.Tanh, nn.ReLU}:
            raise ValueError(f"one activation, Tanh or ReLU, expected, not {kinds}")
        self.tanh = kinds == {nn.Tanh}
        self.count = len(nets)
        self.shapes = [(layer.in_features, layer.out_features) for layer in linears[0]]
        # Per layer: the weight block (in, out) then the bias block (1, out), within each row.
        self.block_shapes = [shape for fan_in, fan_out in self.shapes for shape in ((fan_in, fan_out), (1, fan_out))]
        with torch.no_grad():
            self.data = torch.stack(
                [
                    torch.cat([tensor.reshape(-1) for layer in net for tensor in (layer.weight.T, layer.bias)])
                    for net in linears
                ]
            )
        self.grad = torch.zeros_like(self.data)
        self._bind()
        self._inputs: list[torch.Tensor] = []
        self._buffers: dict[tuple[str, int], list[torch.Tensor]] = {}

    def _bind(self) -> None:
        """(Re)make the per-layer views of ``data`` and ``grad``."""
        self.blocks, self.grad_blocks = self.split(self.data), self.split(self.grad)
        # Where bmm writes each layer's weight gradient (a narrow layer's transposed, as
        # (M, out, in)): into its block of grad where that is contiguous (one network, and
        # a narrow layer of one column), else into a buffer of its own, then copied. An
        # output strided by the flat row made bmm loop over the networks, one gemm each,
        # instead of one batched call (the same numbers, 10-30% longer).
        self._weight_grads = []
        for block, (_, fan_out) in zip(self.grad_blocks[::2], self.shapes, strict=True):
            narrow = fan_out <= NARROW
            target = block.transpose(1, 2) if narrow else block
            contiguous = self.count == 1 and (not narrow or fan_out == 1)
            self._weight_grads.append(target if contiguous else torch.empty(target.shape))
        # Views made once, not per call (a view costs ~1 us, as much as a 16-row layer's matmul).
        self._transposed = [weight.transpose(1, 2) for weight in self.blocks[::2]]  # (M, out, in)
        self._last_bias_transposed = self.blocks[-1].transpose(1, 2)

    def split(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """``flat`` ``(M, P)`` (laid out as ``data``) as its blocks, views ``(M, rows, columns)``."""
        sizes = [rows * columns for rows, columns in self.block_shapes]
        return [
            block.view(self.count, *shape)
            for block, shape in zip(torch.split(flat, sizes, dim=1), self.block_shapes, strict=True)
        ]

    def __call__(self, inputs: torch.Tensor) -> torch.Tensor:
        """``inputs`` ``(M, B, in)`` -> ``(M, B, out)``; the activation between layers."""
        return self._forward(inputs, self._scratch("call", inputs.shape[1]))

    def forward_for_backward(self, inputs: torch.Tensor) -> torch.Tensor:
        """As calling the net, keeping each layer's input for the :meth:`backward` that follows."""
        hidden = self._scratch("train", inputs.shape[1])
        self._inputs = [inputs, *hidden]
        return self._forward(inputs, hidden)

    def _forward(self, inputs: torch.Tensor, hidden: list[torch.Tensor]) -> torch.Tensor:
        """Each hidden layer's output into its buffer in ``hidden``; the last layer's returned."""
        for layer, output in enumerate(hidden):
            torch.baddbmm(self.blocks[2 * layer + 1], inputs, self.blocks[2 * layer], out=output)
            _activate(output, self.tanh)
            inputs = output
        weight, bias, transposed = self.blocks[-2], self.blocks[-1], self._transposed[-1]
        if weight.shape[-1] == 1:
            # One output (a critic): a product and a sum, as fast as a matmul here; and a
            # matmul with one output column takes a vector path when a single network is
            # stacked, rounding differently: a value would depend on how many are stacked.
            product = self._scratch("product", inputs.shape[1])[-1]
            return torch.mul(inputs, transposed, out=product).sum(-1, keepdim=True).add_(bias)
        if weight.shape[-1] <= NARROW:  # as (W^T h^T)^T: 2.5x faster than h W for two logits
            return torch.baddbmm(self._last_bias_transposed, transposed, inputs.transpose(1, 2)).transpose(1, 2)
        return torch.baddbmm(bias, inputs, weight)

    def backward(self, grad_output: torch.Tensor) -> None:
        """The gradient of ``sum(grad_output * outputs)`` with respect to every weight, for
        the inputs of the last :meth:`forward_for_backward`, written into ``grad``.

        :param grad_output: ``(M, B, out)``, d loss / d output.
        """
        grads = self._scratch("grad", grad_output.shape[1])
        grad = grad_output
        for layer in reversed(range(len(self.shapes))):
            inputs, weight = self._inputs[layer], self.blocks[2 * layer]
            narrow = weight.shape[-1] <= NARROW
            # d weight = h^T g (for a narrow layer as (g^T h)^T: 9x faster for one column),
            # into its block, or a buffer copied there (see _bind).
            block, product = self.grad_blocks[2 * layer], self._weight_grads[layer]
            if narrow:
                torch.bmm(grad.transpose(1, 2), inputs, out=product)
                if product.data_ptr() != block.data_ptr():
                    block.copy_(product.transpose(1, 2))
            else:
                torch.bmm(inputs.transpose(1, 2), grad, out=product)
                if product.data_ptr() != block.data_ptr():
                    block.copy_(product)
            torch.sum(grad, dim=1, keepdim=True, out=self.grad_blocks[2 * layer + 1])
            if layer > 0:
                grad_input = grads[layer - 1]
                # d input = g W^T (for a narrow layer column by column: an outer product
                # as a matmul of inner size 1 took 18x longer).
                transposed = self._transposed[layer]  # (M, out, in)
                if narrow:
                    torch.mul(grad[..., :1], transposed[:, :1], out=grad_input)
                    for column in range(1, transposed.shape[1]):
                        grad_input.addcmul_(grad[..., column : column + 1], transposed[:, column : column + 1])
                else:
                    torch.bmm(grad, transposed, out=grad_input)
                # Through the activation, from its output h: tanh' = 1 - h^2 (torch's own
                # tanh_backward, in place); ReLU' = 1 where h > 0.
                if self.tanh:
                    _tanh_backward(grad_input, inputs, grad_input=grad_input)
                else:
                    grad_input.masked_fill_(inputs <= 0, 0.0)
                grad = grad_input
        self._inputs = []

    def _scratch(self, use: str, rows: int) -> list[torch.Tensor]:
        """Buffers ``(M, rows, width)``, one per hidden layer, kept for reuse: in a VM a fresh
        multi-MB tensor costs a page fault per 4 kB on first touch, and measured that made
        elementwise passes over the critic's activations 20x slower than the pass itself."""
        key = (use, rows)
        if key not in self._buffers:
            if len(self._buffers) >= 16:  # batch sizes change only with the config: this never grows far
                self._buffers.clear()
            self._buffers[key] = [torch.empty(self.count, rows, fan_out) for _, fan_out in self.shapes[:-1]]
        return self._buffers[key]

    # -- per network --------------------------------------------------------------------

    def keep(self, networks: Sequence[int]) -> None:
        """Keep only ``networks`` (positions in the current order), in that order."""
        index = list(networks)
        self.data, self.grad = self.data[index], self.grad[index]
        self.count = len(index)
        self._bind()
        self._buffers.clear()

    def state_of(self, network: int) -> dict[str, torch.Tensor]:
        """Network ``network`` as an ``nn.Sequential`` state dict (Linear layers at 0, 2, 4, ...)."""
        state = {}
        for layer in range(len(self.shapes)):
            state[f"{2 * layer}.weight"] = self.blocks[2 * layer][network].T.clone()
            state[f"{2 * layer}.bias"] = self.blocks[2 * layer + 1][network, 0].clone()
        return state


class StackedAdam:
    """Adam on a :class:`StackedMLP`: M independent Adams, each with its own learning
    rate and step count (so that one network's rollback restarts only its own moments).

    Each network's row is one parameter of torch's fused Adam kernel (the one
    ``torch.optim.Adam(fused=True)`` runs), with its own step tensor; the rows that share a
    learning rate (usually all of them) are stepped in one call. Adam is
    elementwise, so this is exactly M separate ``Adam(fused=True)``. (The rows stay
    parameters of their own: the kernel computes the last ``P % 16`` elements of a
    parameter by a scalar path that rounds differently, so a slice of several rows as one
    parameter would make a network's weights depend on its neighbours.)
    """

    def __init__(self, net: StackedMLP, learning_rates: Sequence[float]) -> None:
        check_private_kernels()  # StackedMLP.backward's too: a population always has its Adam
        self.net = net
        self.learning_rates = list(learning_rates)
        self.betas = (0.9, 0.999)
        self.eps = 1e-8
        self.exp_avg = torch.zeros_like(net.data)
        self.exp_avg_sq = torch.zeros_like(net.data)
        self.steps = np.zeros(net.count, dtype=np.int64)
        """Each network's step count (Adam keeps it as a float32 scalar: the same whole
        numbers). Counted here, not in M scalar tensors: ``_foreach_add_`` on 32 of them
        took 0.1 ms a step, as long as the 32 critics' Adam step itself."""
        self._row_views: tuple[list[torch.Tensor], ...] | None = None
        self._step_tensors: dict[int, torch.Tensor] = {}

    def step(self, active: Sequence[bool] | None = None) -> None:
        """One Adam step of every network, or of the ``active`` ones (the others keep
        their weights, moments and step counts exactly). (No ``no_grad`` context: the
        weights do not require grad, and entering one cost more than the kernel for one net.)"""
        rates = self.learning_rates
        if active is None:
            self.steps += 1
            counts = self.steps.tolist()
            if rates.count(rates[0]) == len(rates):
                self._fused_step(self._rows(), rates[0], counts)  # the usual case: one call
                return
            networks: list[int] = list(range(len(counts)))
        else:
            stepping = np.asarray(active, dtype=bool)
            self.steps[stepping] += 1
            counts = self.steps.tolist()
            networks = np.flatnonzero(stepping).tolist()
        groups: dict[float, list[int]] = {}
        for network in networks:
            groups.setdefault(rates[network], []).append(network)
        rows = self._rows()
        for rate, members in groups.items():
            every = len(members) == len(rows[0])
            chosen = tuple(r if every else [r[n] for n in members] for r in rows)
            self._fused_step(chosen, rate, [counts[n] for n in members])

    def _fused_step(self, rows: tuple[list[torch.Tensor], ...], rate: float, counts: list[int]) -> None:
        """Torch's fused Adam kernel on ``rows`` (weights, grads, moments: one list each) of
        networks that share a learning rate, each at its own step count in ``counts``: the
        kernel reads each row's own step tensor, so networks whose counts differ (agents of
        a critic-free estimator fit their critics in different numbers of minibatches)
        still take one call, not one each."""
        data, grad, exp_avg, exp_avg_sq = rows
        if counts.count(counts[0]) == len(counts):
            steps = [self._step_tensor(counts[0])] * len(counts)
        else:
            steps = [self._step_tensor(count) for count in counts]
        torch._fused_adam_(
            data,
            grad,
            exp_avg,
            exp_avg_sq,
            [],
            steps,  # read, not written, by the kernel
            lr=rate,
            beta1=self.betas[0],
            beta2=self.betas[1],
            weight_decay=0.0,
            eps=self.eps,
            amsgrad=False,
            maximize=False,
        )

    def _step_tensor(self, count: int) -> torch.Tensor:
        """The step count ``count`` as the float32 scalar the kernel reads, made once."""
        tensor = self._step_tensors.get(count)
        if tensor is None:
            if len(self._step_tensors) >= 256:  # counts only grow: the old ones are done with
                self._step_tensors.clear()
            tensor = self._step_tensors[count] = torch.tensor(float(count))
        return tensor

    def _rows(self) -> tuple[list[torch.Tensor], ...]:
        """Each network's row of weights, grads and moments: views made once (32 x 4 of
        them per step took 0.1 ms, 2.5% of a critic minibatch)."""
        if self._row_views is None or self._row_views[0][0].data_ptr() != self.net.data.data_ptr():
            tensors = (self.net.data, self.net.grad, self.exp_avg, self.exp_avg_sq)
            self._row_views = tuple(list(tensor.unbind(0)) for tensor in tensors)
        return self._row_views

    def reset_network(self, network: int) -> None:
        """Clear one network's moments and step count (after its rollback)."""
        self.exp_avg[network] = 0.0
        self.exp_avg_sq[network] = 0.0
        self.steps[network] = 0

    def keep(self, networks: Sequence[int]) -> None:
        """Keep only ``networks``' state, in that order."""
        index = list(networks)
        self.exp_avg, self.exp_avg_sq = self.exp_avg[index], self.exp_avg_sq[index]
        self.steps = self.steps[index]
        self.learning_rates = [self.learning_rates[network] for network in index]
        self._row_views = None


@torch.no_grad()
def clip_grad_norms(net: StackedMLP, max_norms: torch.Tensor) -> None:
    """Scale each network's gradient to at most its ``max_norms`` ``(M,)`` (inf: no clip),
    as ``torch.nn.utils.clip_grad_norm_`` does for one: by ``max / (norm + 1e-6)`` if under 1."""
    norms = torch.linalg.vector_norm(net.grad, dim=1)
    coefficients = torch.clamp(max_norms / (norms + 1e-6), max=1.0)
    net.grad.mul_(coefficients[:, None])


def all_finite(rows: torch.Tensor) -> torch.Tensor:
    """Per row of ``rows`` ``(M, ...)``: whether it holds no NaN or infinity, ``(M,)`` bool."""
    return torch.isfinite(rows.reshape(len(rows), -1)).all(dim=1)


def finite_or_inf(values: Sequence[float | None]) -> torch.Tensor:
    """Optional per-network bounds as ``(M,)`` float32, None as infinity."""
    return torch.tensor([math.inf if value is None else value for value in values], dtype=torch.float32)
