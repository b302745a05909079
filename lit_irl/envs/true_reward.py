"""The true reward of an env as a function of a transition ``(s, a, s')`` alone.

EPIC (:mod:`lit_irl.rewards.epic`) evaluates a reward on transitions no env produced: ``(s, A, S')``
with ``A`` and ``S'`` drawn independently of ``s``. The env's reward can only be read from a step,
so each supported env's reward is rewritten here from observations and actions (gymnasium v5
defaults):

- ``Pendulum-v1``: ``-(theta^2 + 0.1 theta_dot^2 + 0.001 u^2)`` of the state acted in (exact).
- ``InvertedPendulum-v5``: 1 while the pole of ``s'`` is within 0.2 rad (exact).
- ``Hopper-v5``, ``Walker2d-v5``, ``HalfCheetah-v5``, ``Ant-v5``: ``healthy(s') + v_x - ctrl_cost(a)``
  (healthy: the env's termination function does not fire, :mod:`lit_irl.models.termination`)
  (Ant: ``- contact_cost(s')``). The env pays the x displacement over the step divided by its
  duration; the observations exclude x, so ``v_x`` is the mean of the torso's x velocity in ``s``
  and ``s'`` (trapezoid rule). Measured against the env's own rewards on 3000 steps of the zoo
  experts and of random actions: Pearson 0.9997+ on Hopper and Walker2d, 0.995+ on Ant, 0.99 / 0.97
  (expert / random) on HalfCheetah, whose velocity changes most within a step (``tests/test_epic.py`` checks the
  rewrite against the env).

The transfer ants (``CustomAnt-v0``, ``DisabledAnt-v0``) have no entry: EPIC is not reported there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from tensordict import TensorDictBase

from lit_irl.models.termination import Termination, ant_terminated, hopper_terminated, walker2d_terminated

TrueReward = Callable[[TensorDictBase], torch.Tensor]


@dataclass(frozen=True)
class Locomotion:
    """``healthy_reward * healthy(s') + v_x - ctrl_weight |a|^2 - contact_weight |f(s')|^2``; healthy
    is the complement of the env's termination (:mod:`lit_irl.models.termination`)."""

    velocity_index: int  # the torso's x velocity in the observation
    ctrl_weight: float
    terminated: Termination | None = None  # None: the env never ends an episode, and pays no healthy reward
    healthy_reward: float = 1.0
    contact_slice: tuple[int, int] | None = None  # clipped external contact forces in the observation (Ant)
    contact_weight: float = 0.0

    @property
    def terminates(self) -> bool:
        """Whether the env ends an episode in an unhealthy state (a fall)."""
        return self.terminated is not None

    def healthy(self, obs: torch.Tensor) -> torch.Tensor:
        if self.terminated is None:
            return torch.ones(obs.shape[:-1], dtype=torch.bool, device=obs.device)
        return ~self.terminated(obs)

    def __call__(self, batch: TensorDictBase) -> torch.Tensor:
        obs, action, next_obs = batch["obs"], batch["action"], batch["next_obs"]
        velocity = 0.5 * (obs[..., self.velocity_index] + next_obs[..., self.velocity_index])
        reward = velocity - self.ctrl_weight * action.square().sum(-1)
        if self.terminates:
            reward = reward + self.healthy_reward * self.healthy(next_obs).to(reward.dtype)
        if self.contact_slice is not None:
            start, stop = self.contact_slice
            reward = reward - self.contact_weight * next_obs[..., start:stop].square().sum(-1)
        return reward


def pendulum_reward(batch: TensorDictBase) -> torch.Tensor:
    cos, sin, angular_velocity = batch["obs"].unbind(-1)
    torque = batch["action"][..., 0].clamp(-2.0, 2.0)
    angle = torch.atan2(sin, cos)  # already normalized to [-pi, pi]
    return -(angle.square() + 0.1 * angular_velocity.square() + 0.001 * torque.square())


def inverted_pendulum_reward(batch: TensorDictBase) -> torch.Tensor:
    return (batch["next_obs"][..., 1].abs() <= 0.2).to(batch["next_obs"].dtype)


TRUE_REWARDS: dict[str, TrueReward] = {
    "Pendulum-v1": pendulum_reward,
    "InvertedPendulum-v5": inverted_pendulum_reward,
    "Hopper-v5": Locomotion(velocity_index=5, ctrl_weight=1e-3, terminated=hopper_terminated),
    "Walker2d-v5": Locomotion(velocity_index=8, ctrl_weight=1e-3, terminated=walker2d_terminated),
    "HalfCheetah-v5": Locomotion(velocity_index=8, ctrl_weight=0.1),
    "Ant-v5": Locomotion(velocity_index=13, ctrl_weight=0.5, terminated=ant_terminated, contact_slice=(27, 105), contact_weight=5e-4),
}


def true_reward_of(env_id: str) -> TrueReward | None:
    """The env's reward as a function of ``obs``, ``action``, ``next_obs``; ``None`` where unknown."""
    return TRUE_REWARDS.get(env_id)
