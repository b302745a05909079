"""Squashed Gaussian actor used by SAC (and later MOPO): ``a = scale * tanh(u) + bias``, ``u ~ N(mu, sigma)``."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from lit_irl.nn.mlp import mlp

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


class TanhGaussianActor(nn.Module):
    """Gaussian policy squashed by tanh into the env's action box.

    Noise comes from an explicit ``generator`` when one is given, so that collection can draw from
    its own saved random stream (exact resume) while updates use the global one.
    """

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        hidden: Sequence[int],
        action_low: torch.Tensor,
        action_high: torch.Tensor,
        act: str = "relu",
    ) -> None:
        super().__init__()
        self.net = mlp(obs_dim, hidden, 2 * act_dim, act)
        self.register_buffer("action_scale", (action_high - action_low).float() / 2)
        self.register_buffer("action_bias", (action_high + action_low).float() / 2)

    def _mean_log_std(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_std = self.net(obs).chunk(2, dim=-1)
        # Soft clamp keeps gradients alive at the bounds (as in the SAC reference code).
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (torch.tanh(log_std) + 1)
        return mean, log_std

    def forward(
        self, obs: torch.Tensor, deterministic: bool = False, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(action, log_prob)``; ``log_prob`` has shape ``(B,)`` and includes the tanh correction."""
        mean, log_std = self._mean_log_std(obs)
        if deterministic:
            u = mean
            noise = torch.zeros_like(mean)
        else:
            noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=generator.device if generator else mean.device)
            noise = noise.to(mean.device)
            u = mean + noise * log_std.exp()
        # log N(u; mean, std) - sum log(1 - tanh(u)^2), written stably: log(1-tanh^2 u) = 2(log2 - u - softplus(-2u)).
        gaussian_log_prob = -0.5 * noise.pow(2) - log_std - 0.5 * math.log(2 * math.pi)
        squash_correction = 2.0 * (math.log(2.0) - u - F.softplus(-2.0 * u))
        log_prob = (gaussian_log_prob - squash_correction).sum(-1) - torch.log(self.action_scale).sum()
        return torch.tanh(u) * self.action_scale + self.action_bias, log_prob

    @torch.no_grad()
    def act(
        self, obs: torch.Tensor, deterministic: bool = False, generator: torch.Generator | None = None, noise: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Action only (no log-prob): the collection hot path. ``noise`` (standard normal, shape of
        the action batch) replaces drawing from ``generator``."""
        mean, log_std = self._mean_log_std(obs)
        if not deterministic:
            if noise is None:
                noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=generator.device if generator else mean.device)
            mean = mean + noise.to(mean.device) * log_std.exp()
        return torch.tanh(mean) * self.action_scale + self.action_bias
