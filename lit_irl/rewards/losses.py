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
