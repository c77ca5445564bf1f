"""Students' functions, written as a student would (plain loops): right ones, and one of
each classic mistake, for ``vpg-sim check tests.student_solutions:NAME`` and the tests of
the check, the guard and the trainer."""

import time

import numpy as np

# -- reward-to-go: G_t = r_t + gamma * G_{t+1}, 0 after a termination, V after a cut ---------


def reward_to_go(rewards, next_values, terminated, truncated, gamma):
    returns = np.zeros(len(rewards))
    future = next_values[-1]  # the batch's cut: the episode goes on
    for t in reversed(range(len(rewards))):
        if terminated[t]:
            future = 0.0
        elif truncated[t]:
            future = next_values[t]
        returns[t] = rewards[t] + gamma * future
        future = returns[t]
    return returns


def _mistaken_reward_to_go(rewards, next_values, terminated, truncated, gamma, mistake):
    """``reward_to_go`` with one classic mistake (each wrong version below names its own)."""
    returns = np.zeros(len(rewards))
    future = next_values[-1]
    first = 1 if mistake == "off by one" else 0  # the reversed loop stops one step short
    for t in reversed(range(first, len(rewards))):
        if mistake == "no reset":
            pass  # one episode's return runs on into the episode before it
        elif terminated[t]:
            future = next_values[t] if mistake == "terminal bootstrapped" else 0.0
        elif truncated[t]:
            future = 0.0 if mistake == "truncation not bootstrapped" else next_values[t]
        returns[t] = rewards[t] + gamma * future
        future = returns[t]
    return returns


def rtg_forgets_to_reset(rewards, next_values, terminated, truncated, gamma):
    return _mistaken_reward_to_go(rewards, next_values, terminated, truncated, gamma, "no reset")


def rtg_bootstraps_a_terminal_state(rewards, next_values, terminated, truncated, gamma):
    return _mistaken_reward_to_go(rewards, next_values, terminated, truncated, gamma, "terminal bootstrapped")


def rtg_does_not_bootstrap_a_truncation(rewards, next_values, terminated, truncated, gamma):
    return _mistaken_reward_to_go(rewards, next_values, terminated, truncated, gamma, "truncation not bootstrapped")


def rtg_off_by_one(rewards, next_values, terminated, truncated, gamma):
    """Step 0 is never filled in."""
    return _mistaken_reward_to_go(rewards, next_values, terminated, truncated, gamma, "off by one")


def rtg_discounts_from_episode_start(rewards, next_values, terminated, truncated, gamma):
    """sum_k gamma^k r_k over the rest of the episode with k counted from its first step."""
    returns = np.zeros(len(rewards))
    start = 0
    for t in range(len(rewards)):
        end = t
        while end < len(rewards) - 1 and not (terminated[end] or truncated[end]):
            end += 1
        total = sum(gamma ** (k - start) * rewards[k] for k in range(t, end + 1))
        if not terminated[end]:
            total += gamma ** (end + 1 - start) * next_values[end]
        returns[t] = total
        if terminated[t] or truncated[t]:
            start = t + 1
    return returns


# -- GAE -----------------------------------------------------------------------------------


def gae(rewards, values, next_values, terminated, truncated, gamma, lam):
    advantages = np.zeros(len(rewards))
    running = 0.0
    for t in reversed(range(len(rewards))):
        future = 0.0 if terminated[t] else next_values[t]
        delta = rewards[t] + gamma * future - values[t]
        if terminated[t] or truncated[t]:
            running = 0.0
        running = delta + gamma * lam * running
        advantages[t] = running
    return advantages


def gae_bootstraps_a_terminal_state(rewards, values, next_values, terminated, truncated, gamma, lam):
    advantages = np.zeros(len(rewards))
    running = 0.0
    for t in reversed(range(len(rewards))):
        delta = rewards[t] + gamma * next_values[t] - values[t]
        if terminated[t] or truncated[t]:
            running = 0.0
        running = delta + gamma * lam * running
        advantages[t] = running
    return advantages


# -- the loss ------------------------------------------------------------------------------


def pg_loss(log_probs, advantages):
    return -(log_probs * advantages).mean()


def loss_with_the_wrong_sign(log_probs, advantages):
    return (log_probs * advantages).mean()


def loss_summed(log_probs, advantages):
    return -(log_probs * advantages).sum()


def loss_through_numpy(log_probs, advantages):
    import torch

    return torch.tensor(-(log_probs.detach().numpy() * advantages.numpy()).mean())


# -- broken in other ways --------------------------------------------------------------------


def raises(rewards, next_values, terminated, truncated, gamma):
    return rewards[len(rewards)]


def one_short(rewards, next_values, terminated, truncated, gamma):
    return np.zeros(len(rewards) - 1)


def gives_nan(rewards, next_values, terminated, truncated, gamma):
    result = np.array(rewards, dtype=float)
    result[-1] = np.nan
    return result


def gives_a_string(rewards, next_values, terminated, truncated, gamma):
    return "returns"


def takes_ten_seconds(rewards, next_values, terminated, truncated, gamma):
    time.sleep(10)
    return np.zeros(len(rewards))


def not_written_yet(rewards, next_values, terminated, truncated, gamma):
    raise NotImplementedError
