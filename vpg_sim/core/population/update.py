"""Steps 3 and 4 for a population: every agent's policy step and critic fit as batched ops.

Each function does for M agents what ``VPGTrainer._policy_step`` and ``_fit_value`` do for
one, over padded per-agent batches: agent i has ``B`` rows (every step of its batch), of
which ``counts[i]`` are valid; invalid rows (autoreset steps) are masked out of every sum
and every mean divides by the agent's own count, so a row of padding changes nothing but
the order of float additions. Each agent's loss depends on its own weights only, and the
population's loss is their sum, so its gradient is each agent's own gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vpg_sim.core.population.stacked import StackedAdam, StackedMLP, all_finite, clip_grad_norms


@dataclass(frozen=True)
class PolicyStepResult:
    """Per agent, ``(M,)`` float tensors; ``finite`` False where the step must be undone."""

    loss: torch.Tensor
    entropy: torch.Tensor
    approx_kl: torch.Tensor
    finite: torch.Tensor  # bool: the loss and the agent's new weights are finite


def masked_mean(values: torch.Tensor, valid: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Per agent, the mean of ``values`` ``(M, B)`` over its ``valid`` rows: ``(M,)``."""
    return values.masked_fill(~valid, 0.0).sum(dim=1) / counts


def _log_probs_and_entropy(logits: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """log pi(a|s) and the entropy of pi(.|s), each ``(M, B)``, from ``logits`` ``(M, B, A)``,
    computed as ``Categorical`` computes them."""
    normalized = logits - logits.logsumexp(dim=-1, keepdim=True)
    log_probs = normalized.gather(-1, actions[..., None]).squeeze(-1)
    # exp of the normalised logits is the softmax (torch's softmax over 2 logits took 30x longer).
    entropy = -(normalized.clamp(min=torch.finfo(normalized.dtype).min) * normalized.exp()).sum(-1)
    return log_probs, entropy


def policy_step(
    policy: StackedMLP,
    optimizer: StackedAdam,
    observations: torch.Tensor,
    actions: torch.Tensor,
    valid: torch.Tensor,
    counts: torch.Tensor,
    advantages: torch.Tensor,
    entropy_coefs: torch.Tensor,
    max_grad_norms: torch.Tensor,
) -> PolicyStepResult:
    """Step 3 for every agent: one Adam step on ``-mean(log pi * A) - c * mean entropy``.

    :param observations: ``(M, B, obs_dim)``; ``actions``, ``valid`` ``(M, B)``.
    :param counts: ``(M,)`` valid rows per agent.
    :param advantages: ``(M, B)`` (normalised where the agent's config says), 0 where not valid.
    :param entropy_coefs: ``(M,)``; ``max_grad_norms`` ``(M,)``, infinite for no clipping.
    """
    # Autograd for the loss's few ops on the logits; the MLP's backward by hand.
    logits = policy.forward_for_backward(observations).requires_grad_()
    log_probs, entropy = _log_probs_and_entropy(logits, actions)
    mean_entropy = masked_mean(entropy, valid, counts)
    loss = -masked_mean(log_probs * advantages, valid, counts) - entropy_coefs * mean_entropy
    loss.sum().backward()
    policy.backward(logits.grad)
    clip_grad_norms(policy, max_grad_norms)
    optimizer.step()
    with torch.no_grad():
        # KL(old || new) by the low-variance estimator E[(r - 1) - log r], per agent.
        log_ratio = _log_probs_and_entropy(policy(observations), actions)[0] - log_probs.detach()
        approx_kl = masked_mean((log_ratio.exp() - 1) - log_ratio, valid, counts)
    finite = torch.isfinite(loss.detach()) & all_finite(policy.data)
    return PolicyStepResult(loss.detach(), mean_entropy.detach(), approx_kl, finite)


def minibatch_rows(
    rows: list[np.ndarray], orders: list[list[np.ndarray]], minibatch_size: int, rows_per_agent: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every critic minibatch of every agent, padded to one shape.

    :param rows: per agent, the row indices of its valid steps (``(B_i,)``), or an empty
        array for an agent that fits no critic this update.
    :param orders: per agent, one permutation of ``range(B_i)`` per pass (``vf_iters``).
    :param rows_per_agent: B, the rows of each agent's batch.
    :returns: ``indices`` ``(passes, K, M * minibatch_size)`` int64 rows of the agents'
        batches flattened to ``(M * B, ...)`` (agent i's rows from ``i * B``; padding
        points at its first row),
        ``present`` ``(passes, K, M, minibatch_size)`` bool (False on padding), and ``sizes``
        ``(passes, K, M)`` float32 (the rows of each minibatch); K is the most
        minibatches any agent has (``ceil(B_i / minibatch_size)``), as the lone trainer
        slices ``order[start:start + minibatch_size]``.
    """
    passes = max(len(agent_orders) for agent_orders in orders)
    most = max(len(agent_rows) for agent_rows in rows)
    per_pass = max(1, -(-most // minibatch_size))
    count = len(rows)
    indices = np.zeros((passes, count, per_pass * minibatch_size), dtype=np.int64)
    present = np.zeros_like(indices, dtype=bool)
    for agent, (agent_rows, agent_orders) in enumerate(zip(rows, orders, strict=True)):
        for step, order in enumerate(agent_orders):
            indices[step, agent, : len(order)] = agent_rows[order]
            present[step, agent, : len(order)] = True
    indices += np.arange(count)[:, None] * rows_per_agent  # one index_select gathers every agent's rows
    shape = (passes, count, per_pass, minibatch_size)
    flat_shape = (passes, per_pass, count * minibatch_size)
    indices_t = torch.from_numpy(indices.reshape(shape).transpose(0, 2, 1, 3).reshape(flat_shape).copy())
    present_t = torch.from_numpy(present.reshape(shape).transpose(0, 2, 1, 3).copy())
    return indices_t, present_t, present_t.sum(dim=-1).float()


def fit_values(
    value: StackedMLP,
    optimizer: StackedAdam,
    observations: torch.Tensor,
    targets: torch.Tensor,
    minibatches: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    fitting: torch.Tensor,
    max_grad_norms: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Step 4 for every agent: minibatch Adam on the squared error of the normalised critic.

    :param observations: ``(M, B, obs_dim)``; ``targets`` ``(M, B)`` normalised.
    :param minibatches: from :func:`minibatch_rows`.
    :param fitting: ``(M,)`` bool: agents that fit their critic now (the others' weights,
        moments and step counts are left exactly as they are).
    :param max_grad_norms: ``(M,)``, infinite for no clipping; None when no agent clips.
    :returns: per agent ``(M,)``: the sum of its minibatch losses, and whether its loss
        and weights stayed finite.
    """
    indices, present, sizes = minibatches
    count, rows, obs_dim = observations.shape
    # Every minibatch gathered in one pass, while the batch is in cache (a gather per
    # minibatch, between the matmuls, missed the cache on every row: 10x slower).
    all_observations = observations.reshape(count * rows, obs_dim).index_select(0, indices.reshape(-1))
    all_targets = targets.reshape(-1).index_select(0, indices.reshape(-1))
    shape = (indices.shape[0] * indices.shape[1], count, indices.shape[-1] // count)  # (steps, M, size)
    # Per minibatch and agent, computed once: who steps, 1 / size (1 for none), padding; as
    # lists of per-minibatch views (a tensor's [step] in the loop cost ~2 us each, a tenth
    # of a lone critic's minibatch step).
    sizes = sizes.flatten(0, 1)
    stepping = fitting & (sizes > 0)
    everyone = stepping.all(dim=1).tolist()
    per_row = 1 / sizes.clamp(min=1.0)[..., None]
    gradient_scales = (2 * per_row).unbind(0)
    absent = ~present.flatten(0, 1)
    padded = absent.flatten(1).any(dim=1).tolist()
    losses = torch.zeros(sizes.shape)
    steps = zip(
        all_observations.view(*shape, obs_dim).unbind(0),
        all_targets.view(shape).unbind(0),
        absent.unbind(0),
        gradient_scales,
        losses.unbind(0),
        strict=True,
    )
    for step, (minibatch, minibatch_targets, step_absent, gradient_scale, step_losses) in enumerate(steps):
        predictions = value.forward_for_backward(minibatch).squeeze(-1)
        # mean((V - R)^2) over each agent's minibatch and its gradient 2 (V - R) / size, padding 0.
        errors = predictions - minibatch_targets
        if padded[step]:
            errors.masked_fill_(step_absent, 0.0)
        torch.sum(errors.square(), dim=1, out=step_losses)
        value.backward((errors * gradient_scale).unsqueeze(-1))
        if max_grad_norms is not None:
            clip_grad_norms(value, max_grad_norms)
        optimizer.step(None if everyone[step] else stepping[step].tolist())
    # Summed minibatch by minibatch, in order, as the lone trainer sums them.
    total = torch.zeros(value.count)
    for step_losses in torch.where(stepping, losses * per_row[..., 0], 0.0):
        total += step_losses
    finite = torch.isfinite(total) & all_finite(value.data)
    return total, finite
