"""Reward losses as pure functions ``(loss, stats)``."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from tensordict import TensorDictBase


def discounted_returns(rewards: torch.Tensor, gamma: float, mask: torch.Tensor | None = None) -> torch.Tensor:
    """``sum_t gamma^t r_t`` along the last dim of ``rewards`` ``(N, T)``; ``mask`` (N, T) marks real steps."""
    discounts = gamma ** torch.arange(rewards.shape[-1], dtype=rewards.dtype, device=rewards.device)
    weighted = rewards * discounts
    if mask is not None:
        weighted = weighted * mask
    return weighted.sum(-1)


def ml_irl_loss(
    agent_rewards: torch.Tensor,
    expert_rewards: torch.Tensor,
    gamma: float,
    agent_mask: torch.Tensor | None = None,
    expert_mask: torch.Tensor | None = None,
    agent_weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Maximum-likelihood IRL reward loss (thesis Ch. 2, eq. 2.6-2.8), to minimize.

    ``loss = mean_i R_theta(tau_agent_i) - mean_j R_theta(tau_expert_j)`` with
    ``R_theta(tau) = sum_t gamma^t r_theta(s_t, a_t)``. Its negative gradient is the stochastic
    estimate ``g_k = h(theta; tau_E) - h(theta; tau_A)`` of the likelihood gradient (Lemma 1) when
    the agent trajectories come from the soft-optimal policy of ``r_theta``. Inputs are the
    learned rewards of trajectories, ``(N, T)``; masks mark the real steps of shorter ones.
    ``agent_weights`` (N,), summing to 1, replace the agent side's mean by an expectation (exact
    checks with a tabular policy that enumerates its trajectories).
    """
    agent_returns = discounted_returns(agent_rewards, gamma, agent_mask)
    agent_return = agent_returns.mean() if agent_weights is None else (agent_weights * agent_returns).sum()
    expert_return = discounted_returns(expert_rewards, gamma, expert_mask).mean()
    loss = agent_return - expert_return
    return loss, {
        "reward/loss": loss.detach(),
        "reward/agent_return": agent_return.detach(),
        "reward/expert_return": expert_return.detach(),
    }


def ml_irl_sample_mean_loss(
    agent_rewards: torch.Tensor,
    expert_rewards: torch.Tensor,
    gamma: float,
    agent_mask: torch.Tensor,
    expert_mask: torch.Tensor,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The Offline ML-IRL reward loss of the official code: ``mean r_theta(agent) - mean r_theta(expert)``
    over the real steps of ``(N, T)`` trajectories, each step weighted ``gamma^t`` (``gamma = 1``:
    the plain per-sample means, the official choice). Per sample rather than per trajectory, so an
    agent rollout that the termination function cut short counts by the steps it has."""

    def weighted_mean(rewards: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        weights = gamma ** torch.arange(rewards.shape[-1], dtype=rewards.dtype, device=rewards.device) * mask
        return (rewards * weights).sum() / weights.sum().clamp_min(1e-12)

    agent_mean, expert_mean = weighted_mean(agent_rewards, agent_mask.to(agent_rewards.dtype)), weighted_mean(expert_rewards, expert_mask.to(expert_rewards.dtype))
    loss = agent_mean - expert_mean
    return loss, {"reward/loss": loss.detach(), "reward/agent_step_mean": agent_mean.detach(), "reward/expert_step_mean": expert_mean.detach()}


def bradley_terry_loss(preferred_returns: torch.Tensor, rejected_returns: torch.Tensor, temperature: float = 1.0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Bradley-Terry preference loss, to minimize: ``-mean log sigmoid((R(tau_w) - R(tau_l)) / beta)``.

    ``P(tau_w > tau_l) = sigmoid((R_w - R_l) / beta)`` is the choice model of a Boltzmann-rational
    labeller with the temperature ``beta`` of the policy step (AIHF v2 eq. 3 and A.3.1; its eq. 8
    prints beta = 1). Inputs are segment returns ``(P,)``; the mean over pairs (not the sum) keeps
    the weight of the demonstration term in AIHF independent of the pair batch size.
    """
    margin = (preferred_returns - rejected_returns) / temperature
    loss = -F.logsigmoid(margin).mean()
    return loss, {
        "preference/loss": loss.detach(),
        "preference/accuracy": (margin > 0).float().mean().detach(),
        "preference/margin": margin.detach().mean(),
    }


def preferred_and_rejected(
    pairs: TensorDictBase, reward: Callable[[TensorDictBase], torch.Tensor], gamma: float, per_step: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Learned returns ``R(tau) = sum_t gamma^t r(s_t, a_t)`` of each pair's preferred and rejected
    segment (``pairs`` as :func:`lit_irl.data.modules.pairs_tensordict`: ``a``, ``b``, ``label``);
    ``per_step``: divided by the segment's length (segments of different lengths)."""
    returns_a = discounted_returns(reward(pairs["a"]), gamma)
    returns_b = discounted_returns(reward(pairs["b"]), gamma)
    if per_step:
        returns_a, returns_b = returns_a / pairs["a"].shape[-1], returns_b / pairs["b"].shape[-1]
    a_wins = pairs["label"] > 0.5
    return torch.where(a_wins, returns_a, returns_b), torch.where(a_wins, returns_b, returns_a)


def aihf_loss(
    agent_rewards: torch.Tensor | None,
    expert_rewards: torch.Tensor | None,
    preferred_returns: torch.Tensor | None,
    rejected_returns: torch.Tensor | None,
    *,
    w1: float,
    gamma: float,
    temperature: float = 1.0,
    agent_mask: torch.Tensor | None = None,
    expert_mask: torch.Tensor | None = None,
    agent_weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The AIHF reward loss (v2 eq. 22 with means in both terms), to minimize:

    ``w1 * (mean R(tau_A) - mean R(tau_E)) - mean log sigmoid((R(tau_w) - R(tau_l)) / beta)``.

    The first term is ML-IRL's (:func:`ml_irl_loss`, the likelihood of the demonstrations) and is
    left out when ``w1 == 0`` (then only the preferences shape the reward: the RLHF special case);
    the second is :func:`bradley_terry_loss`, left out when there are no pairs (then this is
    ML-IRL's loss times ``w1``). With means in both terms, ``w1`` alone sets the ratio: a count-
    weighted sum ``|D| L1 + |P| L2`` (the papers' toy examples) is ``w1 = |D| / |P|``.
    """
    loss, stats = None, {}
    if w1 > 0:
        loss, stats = ml_irl_loss(agent_rewards, expert_rewards, gamma, agent_mask, expert_mask, agent_weights)
        loss = w1 * loss
    if preferred_returns is not None and preferred_returns.numel():
        preference_loss, preference_stats = bradley_terry_loss(preferred_returns, rejected_returns, temperature)
        loss = preference_loss if loss is None else loss + preference_loss
        stats.update(preference_stats)
    if loss is None:
        raise ValueError("aihf_loss needs w1 > 0 (demonstrations) or preference pairs")
    stats["reward/loss"] = loss.detach()
    return loss, stats
