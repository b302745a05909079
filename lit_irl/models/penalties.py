"""Uncertainty penalties of a Gaussian world-model ensemble: ``u(s, a) >= 0`` per row.

Model rollouts are paid ``r(s, a) - lambda * u(s, a)`` (MOPO). Every penalty takes the ensemble's
outputs for a batch, ``mean`` and ``logvar`` of shape ``(N, B, D)`` (N members, B rows, D output dims:
the state delta, then a reward dim when the model has a reward head), and uses **all N members**,
not only the elites, as the official code does. Only the state dims ``[:obs_dim]`` count
(``obs_dim=None``: all D dims).

- ``max_aleatoric``: ``max_i ||sigma_i||_2``, the largest L2 norm of a member's std vector
  (the official code's default, "mopo_default"; not the Frobenius norm of a covariance).
- ``ensemble_std``: ``sqrt(mean_d Var_i(mu_i,d))``, epistemic only: the population variance over
  members of their means (OfflineRL-Kit's definition; the official code adds the members'
  aleatoric variance and uses sampled next states instead of means).
- ``ensemble_var``: ``mean_d [mean_i sigma_i,d^2 + Var_i(mu_i,d)]``, the total variance of the
  ensemble's mixture averaged over dims (the official code's "ensemble_var" of its halfcheetah
  medium and medium-replay runs, with means where it uses sampled next states).
- ``pairwise_max``: ``max_{i,j} ||mu_i - mu_j||_2`` over member pairs (MOReL's discrepancy on
  means; the official code uses samples).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from lit_irl.errors import LitIRLError

PENALTIES = ("max_aleatoric", "ensemble_std", "ensemble_var", "pairwise_max")


def max_aleatoric(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``max_i ||sigma_i(s, a)||_2`` over all members."""
    return logvar.mul(0.5).exp().norm(dim=-1).amax(dim=0)


def ensemble_std(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``sqrt`` of the mean over dims of the members' (population) variance of their means."""
    return mean.var(dim=0, unbiased=False).mean(dim=-1).sqrt()


def ensemble_var(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Mean over dims of the mixture's variance: members' mean aleatoric variance plus the variance of their means."""
    return (logvar.exp().mean(dim=0) + mean.var(dim=0, unbiased=False)).mean(dim=-1)


def pairwise_max(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``max`` over member pairs of ``||mu_i - mu_j||_2``."""
    rows = mean.transpose(0, 1)  # (B, N, D): one small distance matrix per row
    # Without the matmul shortcut: exact distances (no cancellation), and no (B, N, N, D) temporary.
    return torch.cdist(rows, rows, compute_mode="donot_use_mm_for_euclid_dist").flatten(1).amax(dim=1)


_PENALTY_FUNCTIONS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "max_aleatoric": max_aleatoric,
    "ensemble_std": ensemble_std,
    "ensemble_var": ensemble_var,
    "pairwise_max": pairwise_max,
}


def check_penalty(name: str) -> str:
    """``name`` if it is a known penalty, else a :class:`LitIRLError` that lists the known ones."""
    if name not in _PENALTY_FUNCTIONS:
        raise LitIRLError(f"unknown uncertainty penalty {name!r}; choose one of {', '.join(PENALTIES)}")
    return name


def uncertainty_penalty(name: str, mean: torch.Tensor, logvar: torch.Tensor, obs_dim: int | None = None) -> torch.Tensor:
    """The penalty ``name`` (one of :data:`PENALTIES`) per row, shape ``(B,)``, ``>= 0``.

    ``mean``/``logvar``: ``(N, B, D)`` as returned by the ensemble; ``obs_dim``: how many leading
    dims are state dims (a reward dim after them is left out); ``None``: all dims.
    """
    penalty = _PENALTY_FUNCTIONS[check_penalty(name)]
    if mean.dim() != 3 or mean.shape != logvar.shape:
        raise LitIRLError(
            f"uncertainty_penalty needs mean and logvar of one shape (members, batch, dims), got {tuple(mean.shape)} "
            f"and {tuple(logvar.shape)}; pass the outputs of GaussianEnsemble.forward"
        )
    if obs_dim is not None:
        if not 0 < obs_dim <= mean.shape[-1]:
            raise LitIRLError(f"obs_dim must lie in [1, {mean.shape[-1]}] (the model's output dims), got {obs_dim}")
        mean, logvar = mean[..., :obs_dim], logvar[..., :obs_dim]
    return penalty(mean, logvar)
