"""Batched termination functions: whether a MuJoCo v5 env would end its episode in ``next_obs``.

Model rollouts (MOPO, Offline ML-IRL) must stop where the real env would, and from observations
alone. The thresholds are gymnasium v5's defaults (checked in its source; ``tests/test_termination.py``
compares each function with the real env's ``terminated`` on states of real rollouts):

- ``Hopper-v5``: healthy while every ``obs[1:]`` is within +-100, ``obs[0]`` (height) > 0.7 and
  ``|obs[1]|`` (torso angle) < 0.2;
- ``Walker2d-v5``: healthy while 0.8 < height < 2.0 and -1 < angle < 1;
- ``Ant-v5``: healthy while finite and 0.2 <= height <= 1.0;
- ``Humanoid-v5``: healthy while 1.0 < height < 2.0;
- ``InvertedPendulum-v5``: ends when an observation is not finite or ``|obs[1]|`` (pole angle) > 0.2;
- ``HalfCheetah-v5`` (and ``Pendulum-v1``): never ends.

A non-finite observation ends every terminating env's episode (a diverged model rollout too).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Termination = Callable[[torch.Tensor], torch.Tensor]


def _within(values: torch.Tensor, low: float, high: float, inclusive: bool = False) -> torch.Tensor:
    return (values >= low) & (values <= high) if inclusive else (values > low) & (values < high)


def hopper_terminated(next_obs: torch.Tensor) -> torch.Tensor:
    healthy = (next_obs[..., 1:].abs() < 100.0).all(-1) & (next_obs[..., 0] > 0.7) & (next_obs[..., 1].abs() < 0.2)
    return ~(healthy & torch.isfinite(next_obs).all(-1))


def walker2d_terminated(next_obs: torch.Tensor) -> torch.Tensor:
    healthy = _within(next_obs[..., 0], 0.8, 2.0) & _within(next_obs[..., 1], -1.0, 1.0)
    return ~(healthy & torch.isfinite(next_obs).all(-1))


def ant_terminated(next_obs: torch.Tensor) -> torch.Tensor:
    return ~(torch.isfinite(next_obs).all(-1) & _within(next_obs[..., 0], 0.2, 1.0, inclusive=True))


def humanoid_terminated(next_obs: torch.Tensor) -> torch.Tensor:
    return ~(torch.isfinite(next_obs).all(-1) & _within(next_obs[..., 0], 1.0, 2.0))


def inverted_pendulum_terminated(next_obs: torch.Tensor) -> torch.Tensor:
    return ~torch.isfinite(next_obs).all(-1) | (next_obs[..., 1].abs() > 0.2)


def never_terminated(next_obs: torch.Tensor) -> torch.Tensor:
    return torch.zeros(next_obs.shape[:-1], dtype=torch.bool, device=next_obs.device)


TERMINATIONS: dict[str, Termination] = {
    "Hopper-v5": hopper_terminated,
    "Walker2d-v5": walker2d_terminated,
    "Ant-v5": ant_terminated,
    "Humanoid-v5": humanoid_terminated,
    "InvertedPendulum-v5": inverted_pendulum_terminated,
    "HalfCheetah-v5": never_terminated,
    "Pendulum-v1": never_terminated,
}


def termination_of(env_id: str) -> Termination | None:
    """The env's termination as a batched function of ``next_obs``; ``None`` where it is not known."""
    return TERMINATIONS.get(env_id)
