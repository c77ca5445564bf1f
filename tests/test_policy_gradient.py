"""The policy-gradient loss: its gradient is the textbook estimate, checked by hand."""

import pytest
import torch

from vpg_sim.core.policy_gradient import policy_gradient_loss


def test_gradient_of_the_loss_is_minus_the_mean_of_grad_log_pi_times_advantage():
    # A softmax policy over 3 actions with one logit per action (no state): grad of
    # log pi(a) with respect to the logits is onehot(a) - pi, a formula we can write out.
    logits = torch.tensor([0.2, -0.5, 1.0], requires_grad=True)
    actions = torch.tensor([0, 2, 2, 1])
    advantages = torch.tensor([1.5, -0.5, 2.0, -1.0])
    log_probs = torch.log_softmax(logits, dim=0)[actions]
    policy_gradient_loss(log_probs, advantages).backward()

    pi = torch.softmax(logits.detach(), dim=0)
    by_hand = torch.stack(
        [(torch.nn.functional.one_hot(a, 3) - pi) * adv for a, adv in zip(actions, advantages, strict=True)]
    ).mean(0)
    torch.testing.assert_close(logits.grad, -by_hand)


def test_advantages_are_weights_not_something_to_differentiate():
    advantages = torch.tensor([1.0, -2.0], requires_grad=True)
    log_probs = torch.tensor([-0.1, -0.7], requires_grad=True)
    policy_gradient_loss(log_probs, advantages).backward()
    assert advantages.grad is None
    torch.testing.assert_close(log_probs.grad, torch.tensor([-0.5, 1.0]))


def test_shapes_must_match_exactly():
    # (B,) against (B, 1) would broadcast to a B x B matrix: the seed post's bug.
    with pytest.raises(ValueError, match="equal"):
        policy_gradient_loss(torch.zeros(4), torch.zeros(4, 1))
