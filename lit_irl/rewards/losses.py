"""Reward losses as pure functions ``(loss, stats)``."""

from __future__ import annotations

import torch


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
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Maximum-likelihood IRL reward loss (thesis Ch. 2, eq. 2.6-2.8), to minimize.

    ``loss = mean_i R_theta(tau_agent_i) - mean_j R_theta(tau_expert_j)`` with
    ``R_theta(tau) = sum_t gamma^t r_theta(s_t, a_t)``. Its negative gradient is the stochastic
    estimate ``g_k = h(theta; tau_E) - h(theta; tau_A)`` of the likelihood gradient (Lemma 1) when
    the agent trajectories come from the soft-optimal policy of ``r_theta``. Inputs are the
    learned rewards of trajectories, ``(N, T)``; masks mark the real steps of shorter ones.
    """
    agent_return = discounted_returns(agent_rewards, gamma, agent_mask).mean()
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
