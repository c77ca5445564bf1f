"""The one idea of the method: a loss whose gradient is the policy gradient.

See ``docs/ALGORITHM.md`` for the whole update; this module is its step 3.
"""

from __future__ import annotations

import torch


def policy_gradient_loss(log_probs: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
    """``-mean(log pi(a_t|s_t) * A_t)``: minimising it ascends the policy gradient.

    Why this is the gradient of the expected return. Let J(theta) = E_tau[R(tau)], the
    mean return of trajectories tau drawn by running pi_theta. Then

    1. grad J = sum_tau grad p(tau) R(tau) = sum_tau p(tau) grad log p(tau) R(tau)
       (the log-derivative trick: grad p = p grad log p), so
       grad J = E_tau[grad log p(tau) R(tau)]: an expectation we can sample by playing.
    2. log p(tau) = log p(s_0) + sum_t [log pi(a_t|s_t) + log P(s_{t+1}|s_t, a_t)], and only
       pi depends on theta: grad log p(tau) = sum_t grad log pi(a_t|s_t). No model of the
       environment is needed.
    3. An action cannot change rewards that came before it, and subtracting any b(s_t)
       leaves the expectation unchanged (E_a[grad log pi(a|s)] = grad sum_a pi(a|s) = 0), so
       R(tau) may be replaced by an advantage A_t, the return from t on minus a baseline:
       grad J = E[sum_t grad log pi(a_t|s_t) A_t], with far less variance.

    A batch average of ``log_probs * advantages``, with the advantages held constant,
    has exactly that sample estimate as its gradient; the minus sign turns gradient
    ascent on J into the descent an optimiser does.

    :param log_probs: ``(B,)`` log pi(a_t|s_t) of the batch's actions, differentiable.
    :param advantages: ``(B,)`` A_t; detached here, since they weigh the gradient and
        must not be differentiated themselves.
    :returns: a scalar tensor.
    """
    if log_probs.shape != advantages.shape or log_probs.ndim != 1:
        raise ValueError(f"need two equal (B,) shapes, got {tuple(log_probs.shape)} and {tuple(advantages.shape)}")
    return -(log_probs * advantages.detach()).mean()
