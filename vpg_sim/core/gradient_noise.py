"""How noisy is one batch's policy gradient, for each of the four estimators of Phi_t?

The policy gradient is grad J = E[sum_t grad log pi(a_t|s_t) Phi_t]; ``total-return``,
``reward-to-go``, ``baseline`` and ``gae`` (``advantages.py``) weigh the same score terms
differently: the same expectation, different noise. (Up to two biases: GAE's lambda < 1,
and, for ``baseline`` and ``gae``, the critic's V bootstrapping an episode cut by the time
limit, where the critic-free two count only what was earned within it.) This module
measures that noise at one policy and critic, with envs of its own:

1. Draw K independent batches (``batches``, default 16) by playing the policy: each a
   batch of whole episodes of about ``steps_per_update`` (1,024) steps or more, as the
   trainer collects for ``total-return`` and ``reward-to-go`` (``Collector.collect_episodes``),
   the K played side by side in K x ``num_envs`` envs (:func:`measure_gradient_noise`).
2. On every batch, compute Phi_t of all four estimators (``estimated_advantages``, the
   trainer's own code) and each one's estimate of the gradient: g_k = the gradient of
   ``policy_gradient_loss(log pi, Phi)`` with respect to the policy's parameters (no
   entropy term, no clipping), flattened: shape ``(P,)``, P the number of policy
   parameters (4,610 for CartPole's 64 x 64 net). (It is minus the ascent direction: the
   sign changes none of the figures.) Twice, on the same batches: on RAW Phi, as the
   textbook writes it (:attr:`GradientNoise.estimators`), and on Phi NORMALISED per batch
   as training normalises it by default (``normalize_advantages``: minus the batch mean,
   over the batch std or the std floor; :attr:`GradientNoise.normalised`). Subtracting the
   batch mean is itself a baseline, so for total-return and reward-to-go the normalised
   figures are the noise of what the run really steps on, and lower than the raw ones.
3. From the K estimates G = [g_1 .. g_K], shape ``(K, P)``, with mean g_bar ``(P,)``:

       relative variance = tr Cov(G) / |g_bar|^2,  tr Cov(G) = sum_k |g_k - g_bar|^2 / (K - 1)
       debiased          = tr Cov(G) / (|g_bar|^2 - tr Cov(G) / K)
       cosine            = mean_k cos(g_k, mean of the other K - 1 estimates)

   |g_bar|^2 estimates |g|^2 + tr Cov / K, not |g|^2: the plain ratio is pulled toward K
   (a true 16 reads 8 with K = 16), which squeezes the estimators' order together where
   the signal is weak. The debiased ratio takes the noise's share out of the denominator.
   Where |g_bar|^2 < 2 tr Cov / K (:func:`signal_resolved`: the plain ratio over K / 2,
   the debiased one over K) the K batches resolve no signal: the figure is marked
   undecided, and no order is read from it.

Why the same batches for all four: the textbook claim (total-return >= reward-to-go >=
baseline) is about the choice of Phi, so everything else is held fixed. On common batches
the four figures differ only by Phi, and their order is not blurred by one estimator's
lucky batches. Collecting as the trainer does for each (fixed 1,024-step batches for
``baseline`` and ``gae``) would compare different batch sizes instead: near solving, a
whole-episode batch is ~8,000 steps (16 envs x 500), ~8x the data, and the critic-free
estimators would look quieter for that reason alone. Whole episodes are also the only
batches on which all four can be computed (the critic-free ones cannot be cut), and
consecutive ones are independent (every env starts afresh), where consecutive fixed-length
batches share the episodes that cross the cut.

What the numbers mean, for a teacher:

- **Relative variance** (debiased) is noise over signal for one batch: the noise of one batch's
  step is that many times the size (squared) of the true step. Averaging n batches
  divides the noise by n, so it is about how many batches you need before the signal
  beats the noise. 0.5: one batch is mostly signal; 50: a single step is mostly noise,
  and only many steps together go the right way. Scaling Phi (the rewards, say) scales
  every g_k and so both terms alike: the figure does not change. It is per batch of
  whole episodes (``batch_steps`` long): a fixed 1,024-step batch of the same policy is
  roughly ``batch_steps / 1024`` times as noisy. With no signal at all, |g_bar|^2 is
  itself the noise of K batches averaged (tr Cov / K on average), so the plain figure
  sits near K (anywhere from ~K/2 to many times K when the noise lies in a few
  directions): that is the undecided region. Once every CartPole episode runs to the
  500-step limit the return's gradient is ~0, and total-return, reward-to-go and baseline
  read there; gae keeps a steady direction (cosine ~0.5): its critic's, bootstrapped at
  the limit, which is its bias.
- **Not one expectation, once episodes are truncated**: the critic-free pair
  (total-return, reward-to-go) count what was earned within the time limit, so they
  estimate the gradient of the time-limited return; baseline and gae bootstrap the cut
  with V, so they estimate that of the discounted return past it (``advantages.TRUNCATION_NOTE``).
  Near the limit the two pairs point at different targets, not only with different noise.
- **Cosine** (leave-one-out) is how well one batch's step lines up with the best guess of
  the true direction from the other batches: 1 every batch points the same way, 0 a
  batch's step is at right angles to it (pure noise), negative it points backwards.
  High cosine: almost every step goes uphill; near 0: a step is a coin toss, and
  progress comes only from many steps adding up.

Cost (CartPole-v1, default config, 1 torch thread, the 2-core development machine at a
load average of ~3 from other jobs, seed 0, three measurements each): K = 16 batches, all
four estimators, took 0.15 s at the initial policy (episodes of ~20 steps: ~20,000 env
steps) and 0.61-0.71 s once every episode runs to the 500-step limit (128,000 env steps).
Played one batch after another they took 0.36-0.43 s and 1.72-1.80 s (same sitting): side
by side, the envs step K x 16 copies at once, and the loop runs one batch's steps, not
K batches'. The rest is the gradients, linear in K. Doubling them (raw and normalised Phi,
128 gradients) cost nothing measurable: six measurements each, interleaved with the code
before it at a load average of ~5, gave medians of 0.44 s against 0.50 s at the initial
policy and 2.17 s against 2.10 s at a solved one (the env steps dominate). A window that
calls it every few updates should run it off the frame loop, on a :class:`Checkpoint`
(:func:`checkpoint_gradient_noise`), not on the live nets.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from vpg_sim.core.advantages import ESTIMATORS, estimated_advantages
from vpg_sim.core.checkpoint import Checkpoint, networks_from_checkpoint
from vpg_sim.core.config import VPGConfig
from vpg_sim.core.networks import Policy, ValueNet
from vpg_sim.core.policy_gradient import policy_gradient_loss
from vpg_sim.core.rollout import Collector, RolloutBatch
from vpg_sim.core.stabilisers import normalized_advantages

DEFAULT_BATCHES = 16
"""K: enough for a leave-one-out mean of 15 and a trace estimate within ~+-35% (its
relative spread is about sqrt(2 / (K - 1)) when a few directions dominate the noise)."""

def signal_resolved(signal: float, noise: float, batches: int) -> bool:
    """Whether K batches resolve a gradient: |g_bar|^2 >= 2 tr Cov / K.

    The one rule for "no resolvable signal" (the noise panel's and the lessons' undecided
    figures): below it the plain ratio tr Cov / |g_bar|^2 is over K / 2 and the debiased
    one over K (or undefined), the mean of the K estimates is mostly their own noise, and
    no order between two estimators can be read from the figures.
    """
    return signal > 0 and signal >= 2.0 * noise / batches


def debiased_ratio(signal: float, noise: float, batches: int) -> float:
    """tr Cov / (|g_bar|^2 - tr Cov / K): the relative variance with the noise's share of
    |g_bar|^2 taken out (E|g_bar|^2 = |g|^2 + tr Cov / K). inf where the noise accounts for
    all of |g_bar|^2 or more, NaN where both are 0."""
    if noise == 0:
        return 0.0 if signal > 0 else math.nan
    denominator = signal - noise / batches
    return noise / denominator if denominator > 0 else math.inf


@dataclass(frozen=True)
class EstimatorNoise:
    """One estimator's noise figures from K gradient estimates (see the module docstring)."""

    relative_variance: float
    """tr Cov(G) / |g_bar|^2 (>= 0; inf when the mean is exactly 0, NaN when all are)."""
    cosine: float
    """Mean over the K batches of cos(g_k, mean of the other K - 1), in [-1, 1]."""
    signal: float
    """|g_bar|^2, the squared norm of the mean estimate."""
    noise: float
    """tr Cov(G): the summed variance of the estimates over all P parameters."""
    batches: int
    """K, the number of estimates."""

    @property
    def debiased(self) -> float:
        """The debiased relative variance (:func:`debiased_ratio`)."""
        return debiased_ratio(self.signal, self.noise, self.batches)

    @property
    def resolved(self) -> bool:
        """Whether the K batches resolve a signal (:func:`signal_resolved`); if not, the
        figures are undecided."""
        return signal_resolved(self.signal, self.noise, self.batches)


@dataclass(frozen=True)
class GradientNoise:
    """The four estimators' figures at one policy and critic, on raw and on normalised Phi."""

    estimators: dict[str, EstimatorNoise]
    """On raw Phi, as the textbook writes it; keyed by estimator name, in ``ESTIMATORS`` order."""
    normalised: dict[str, EstimatorNoise]
    """On Phi normalised per batch as training does with ``normalize_advantages`` (the
    default): minus the batch mean, over the std or the config's std floor."""
    batches: int
    """K, the number of independent batches."""
    batch_steps: float
    """Mean valid steps per batch (whole episodes: at least ``steps_per_update``)."""
    env_steps: int
    """Env steps the measurement played (none of them the trainer's)."""
    seconds: float
    """Wall time of the measurement."""

    def trained(self, normalize_advantages: bool) -> dict[str, EstimatorNoise]:
        """The figures of the weights a run with this ``normalize_advantages`` steps on."""
        return self.normalised if normalize_advantages else self.estimators

    @property
    def relative_variance(self) -> dict[str, float]:
        """On raw Phi."""
        return {name: figures.relative_variance for name, figures in self.estimators.items()}

    @property
    def cosine(self) -> dict[str, float]:
        """On raw Phi."""
        return {name: figures.cosine for name, figures in self.estimators.items()}


def noise_figures(gradients: np.ndarray) -> EstimatorNoise:
    """Relative variance and leave-one-out cosine of K estimates ``(K, P)``, K >= 2."""
    if gradients.ndim != 2 or len(gradients) < 2:
        raise ValueError(f"need (K, P) estimates with K >= 2, got shape {gradients.shape}")
    estimates = gradients.astype(np.float64)
    count = len(estimates)
    mean = estimates.mean(axis=0)
    signal = float(mean @ mean)
    noise = float(((estimates - mean) ** 2).sum() / (count - 1))
    relative_variance = noise / signal if signal > 0 else (math.nan if noise == 0 else math.inf)
    # The mean of the others, for every k at once: (K g_bar - g_k) / (K - 1).
    others = (count * mean - estimates) / (count - 1)
    norms = np.linalg.norm(estimates, axis=1) * np.linalg.norm(others, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cosines = np.einsum("kp,kp->k", estimates, others) / norms
    # Rounding can put parallel vectors a hair past 1.
    cosine = float(np.clip(cosines.mean(), -1.0, 1.0)) if np.all(norms > 0) else math.nan
    return EstimatorNoise(relative_variance, cosine, signal, noise, count)


def policy_gradients(
    policy: Policy, observations: torch.Tensor, actions: torch.Tensor, weights: np.ndarray
) -> np.ndarray:
    """One gradient of ``policy_gradient_loss`` per row of ``weights``, ``(E, P)``.

    :param observations: ``(B, obs_dim)`` the batch's valid steps.
    :param actions: ``(B,)`` or ``(B, act_dim)``.
    :param weights: ``(E, B)`` Phi_t of E estimators, used raw.

    ``torch.autograd.grad`` leaves the parameters' ``.grad`` untouched, so a trainer's live
    policy may be measured between updates without disturbing its next step.
    """
    parameters = [parameter for parameter in policy.parameters() if parameter.requires_grad]
    with torch.enable_grad():
        log_probs = policy.log_prob(observations, actions)  # one forward pass for all E
        rows = []
        for index, phi in enumerate(weights):
            loss = policy_gradient_loss(log_probs, torch.from_numpy(phi).float())
            grads = torch.autograd.grad(loss, parameters, retain_graph=index < len(weights) - 1)
            rows.append(torch.cat([grad.reshape(-1) for grad in grads]).numpy())
    return np.stack(rows)


def estimator_weights(batch: RolloutBatch, config: VPGConfig) -> np.ndarray:
    """Phi_t of every estimator in ``ESTIMATORS`` order on the batch's valid steps, ``(8, B)``:
    the four raw, then the four normalised as the trainer normalises them (its function,
    with the config's std floor)."""
    raw = np.stack(
        [
            estimated_advantages(
                name,
                batch.rewards,
                batch.values,
                batch.last_values,
                batch.terminated,
                batch.truncated,
                batch.valid,
                config.gamma,
                config.gae_lambda,
            )[batch.valid]
            for name in ESTIMATORS
        ]
    )
    return np.concatenate([raw, [normalized_advantages(phi, config.advantage_std_floor) for phi in raw]])


def measure_gradient_noise(
    config: VPGConfig,
    policy: Policy,
    value_net: ValueNet,
    batches: int = DEFAULT_BATCHES,
    seed: int = 0,
    should_stop: Callable[[], bool] | None = None,
) -> GradientNoise:
    """The four estimators' noise figures at ``policy`` and ``value_net``, on raw and on
    normalised Phi (see the module).

    The K batches are played side by side, in ``batches x config.num_envs`` envs of its
    own seeded by ``seed`` (the trainer's envs, random generators and weights are not
    touched): once they hold ``batches x steps_per_update`` steps in all, every env plays
    its episode to its end, and batch k is the whole episodes of envs
    ``k * num_envs .. (k + 1) * num_envs - 1``. Side by side, the K batches cost one
    batch's sequential steps (500 for solved CartPole, not 16 x 500); each holds about
    ``steps_per_update`` steps or more, as one batch played alone would. Give each call its
    own seed (:func:`probe_seed`) so that repeated measurements draw fresh batches.

    :param should_stop: checked every env step; when it returns True the measurement
        ends at once with :class:`TrainingInterrupted`.
    """
    if batches < 2:
        raise ValueError(f"batches must be at least 2, not {batches}")
    started = time.perf_counter()
    width = config.num_envs
    collector = Collector(config.env_id, batches * width, seed, np.random.default_rng(seed))
    try:
        played = collector.collect_episodes(policy, value_net, batches * config.steps_per_update, should_stop)
    finally:
        collector.close()
    estimates: list[np.ndarray] = []  # per batch: (8, P), raw then normalised
    steps = 0
    for index in range(batches):
        batch = env_columns(played, slice(index * width, (index + 1) * width))
        observations = torch.from_numpy(batch.observations[batch.valid])
        actions = torch.from_numpy(batch.actions[batch.valid])
        steps += len(observations)
        estimates.append(policy_gradients(policy, observations, actions, estimator_weights(batch, config)))
    by_weights = np.stack(estimates, axis=1)  # (8, K, P)
    count = len(ESTIMATORS)
    return GradientNoise(
        estimators={name: noise_figures(by_weights[index]) for index, name in enumerate(ESTIMATORS)},
        normalised={name: noise_figures(by_weights[count + index]) for index, name in enumerate(ESTIMATORS)},
        batches=batches,
        batch_steps=steps / batches,
        env_steps=collector.env_steps,
        seconds=time.perf_counter() - started,
    )


def env_columns(batch: RolloutBatch, envs: slice) -> RolloutBatch:
    """The part of ``batch`` played by the envs ``envs``: every array's env axis cut."""
    return RolloutBatch(
        observations=batch.observations[:, envs],
        actions=batch.actions[:, envs],
        rewards=batch.rewards[:, envs],
        values=batch.values[:, envs],
        terminated=batch.terminated[:, envs],
        truncated=batch.truncated[:, envs],
        valid=batch.valid[:, envs],
        last_values=batch.last_values[envs],
    )


def probe_seed(run_seed: int, update: int) -> int:
    """A seed for the measurement envs at ``update``: fresh batches at every point, the
    same ones on every repeat of the run, and a seed other than the trainer's envs'."""
    return int(np.random.SeedSequence([run_seed, update, 0x6E6F6973]).generate_state(1)[0])


def checkpoint_gradient_noise(
    checkpoint: Checkpoint,
    batches: int = DEFAULT_BATCHES,
    seed: int = 0,
    should_stop: Callable[[], bool] | None = None,
) -> GradientNoise:
    """:func:`measure_gradient_noise` at a checkpoint's policy and critic (nets of its own,
    so it may run in any thread while training goes on)."""
    policy, value_net = networks_from_checkpoint(checkpoint)
    return measure_gradient_noise(checkpoint.config, policy, value_net, batches, seed, should_stop)
