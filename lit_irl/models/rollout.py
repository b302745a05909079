"""Rollouts of a policy inside a world model: the data of MOPO's policy step and of Offline ML-IRL's
reward step (agent trajectories from the expert's initial states).

All in torch, batched over start states: each step the actor acts on every live row, the ensemble
predicts all members once (the penalty needs all of them, the next state one random elite), and
the env's termination function (:mod:`lit_irl.models.termination`) ends rows where the real env
would. A row that ended stays masked for the rest of the horizon; nothing is simulated for it.
"""

from __future__ import annotations

import torch
from tensordict import TensorDict

from lit_irl.errors import LitIRLError
from lit_irl.models.penalties import check_penalty, uncertainty_penalty
from lit_irl.models.termination import Termination
from lit_irl.models.world_model import GaussianEnsemble
from lit_irl.nn.actor import Actor


@torch.no_grad()
def model_rollout(
    ensemble: GaussianEnsemble,
    actor: Actor,
    start_obs: torch.Tensor,
    horizon: int,
    terminated: Termination | None,
    penalty: str | None = None,
    generator: torch.Generator | None = None,
    deterministic: bool = False,
) -> tuple[TensorDict, torch.Tensor]:
    """``horizon`` model steps of ``actor`` from each row of ``start_obs`` ``(B, obs_dim)``.

    Returns a TensorDict ``(B, horizon)`` with ``obs``, ``action``, ``next_obs``, ``terminated``
    (the step that ended the row) and, with ``penalty``, ``penalty`` (``u(s, a) >= 0`` of
    :mod:`lit_irl.models.penalties`), and a mask ``(B, horizon)`` of the steps that happened.
    ``terminated=None``: the env never ends an episode (HalfCheetah). ``generator`` drives the
    policy's and the model's noise; ``deterministic``: mean actions and mean next states.
    """
    if horizon < 1:
        raise LitIRLError(f"rollout length must be >= 1, got {horizon}")
    if start_obs.dim() != 2 or start_obs.shape[-1] != ensemble.obs_dim:
        raise LitIRLError(f"start states must have shape (rows, {ensemble.obs_dim}), got {tuple(start_obs.shape)}; use states of the model's env")
    if penalty is not None:
        check_penalty(penalty)
    rows = start_obs.shape[0]
    obs = start_obs
    alive = torch.ones(rows, dtype=torch.bool, device=obs.device)
    steps: list[dict[str, torch.Tensor]] = []
    for _ in range(horizon):
        action = actor.act(obs, deterministic=deterministic, generator=generator)
        mean, logvar = ensemble(obs, action)
        next_obs = ensemble.sample(obs, mean, logvar, generator, deterministic)[0]
        ended = terminated(next_obs) if terminated is not None else torch.zeros(rows, dtype=torch.bool, device=obs.device)
        step = {"obs": obs, "action": action, "next_obs": next_obs, "terminated": ended & alive, "mask": alive.clone()}
        if penalty is not None:
            step["penalty"] = uncertainty_penalty(penalty, mean, logvar, obs_dim=ensemble.obs_dim)
        steps.append(step)
        alive = alive & ~ended
        if not alive.any():
            break
        # An ended row keeps its last state (masked from here on): no non-finite state is fed back.
        obs = torch.where(alive[:, None], next_obs, obs)
    stacked = {key: torch.stack([step[key] for step in steps], dim=1) for key in steps[0]}
    mask = stacked.pop("mask")
    if len(steps) < horizon:  # every row ended early: pad to the horizon, masked
        pad = horizon - len(steps)
        stacked = {key: torch.cat([value, value.new_zeros((rows, pad, *value.shape[2:]))], dim=1) for key, value in stacked.items()}
        mask = torch.cat([mask, torch.zeros(rows, pad, dtype=torch.bool, device=mask.device)], dim=1)
    return TensorDict(stacked, batch_size=[rows, horizon]), mask
