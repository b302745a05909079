"""Build gymnasium envs the way every lit_irl algorithm sees them, and snapshot their state.

Termination policy (see README, "Early termination"): Hopper, Walker2d, Ant and Humanoid end an
episode when the robot falls. For IRL this leaks the reward's sign into episode length (a mostly
negative learned reward teaches the agent to fall early). Three policies, chosen per config:

- ``plain``: the episode ends at termination; the learner masks bootstrapping (right for SAC on the
  true reward, i.e. expert training).
- ``fixed_horizon``: after termination the env repeats the terminal observation with env reward 0
  until the horizon and reports ``terminated=False`` (the official ML-IRL / f-IRL convention).
- ``absorbing``: observations get one indicator dimension; after termination the env emits an
  absorbing state (zeros, indicator 1) with env reward 0 until the horizon (DAC / ValueDICE).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch

from lit_irl.envs.ant_transfer import register as _register_transfer_ants
from lit_irl.errors import LitIRLError, check_positive

_register_transfer_ants()

SUPPORTED_ENVS = (
    "InvertedPendulum-v5",
    "Hopper-v5",
    "HalfCheetah-v5",
    "Walker2d-v5",
    "Ant-v5",
    "Humanoid-v5",
    "CustomAnt-v0",  # transfer setting (lit_irl.envs.ant_transfer)
    "DisabledAnt-v0",
)
TERMINATIONS = ("plain", "fixed_horizon", "absorbing")
Termination = Literal["plain", "fixed_horizon", "absorbing"]


@dataclass
class EnvConfig:
    """Which environment, and how episodes end.

    Attributes:
        env_id: a gymnasium id; the MuJoCo ``-v5`` envs in ``SUPPORTED_ENVS`` are tested, any
            registered env with Box observation and action spaces works.
        termination: ``plain``, ``fixed_horizon`` or ``absorbing`` (module docstring).
        max_episode_steps: horizon T; ``None`` keeps the env's own (1000 for the MuJoCo envs).

    Whether a learner sees the env reward is not a setting: it follows from the learner (SAC on the
    env reward does, IRL and SAC on a learned reward do not); the env reward is always recorded as
    ``true_reward`` for evaluation and metrics.
    """

    env_id: str = "Hopper-v5"
    termination: Termination = "plain"
    max_episode_steps: int | None = None

    def __post_init__(self) -> None:
        if self.termination not in TERMINATIONS:
            raise LitIRLError(f"termination must be one of {TERMINATIONS}, got {self.termination!r}")
        if self.max_episode_steps is not None:
            check_positive(max_episode_steps=self.max_episode_steps)
        if self.env_id not in gym.registry:
            raise LitIRLError(
                f"unknown env id {self.env_id!r}; known MuJoCo envs: {', '.join(SUPPORTED_ENVS)} "
                "(any registered gymnasium id with Box spaces also works)"
            )


@dataclass(frozen=True)
class EnvSpecInfo:
    """What a learner needs to know about an env before building networks."""

    env_id: str
    obs_dim: int
    act_dim: int
    action_low: torch.Tensor
    action_high: torch.Tensor
    horizon: int


class TerminationPolicy(gym.Wrapper):
    """Implements ``fixed_horizon`` and ``absorbing`` on top of an env that terminates early."""

    def __init__(self, env: gym.Env, mode: Termination, horizon: int) -> None:
        super().__init__(env)
        self.mode = mode
        self.horizon = horizon
        self.t = 0
        self.dead = False
        self.last_obs: np.ndarray | None = None
        if mode == "absorbing":
            low, high = env.observation_space.low, env.observation_space.high
            self.observation_space = gym.spaces.Box(
                np.append(low, 0.0).astype(np.float32), np.append(high, 1.0).astype(np.float32), dtype=np.float32
            )

    def _obs(self, obs: np.ndarray, absorbing: bool = False) -> np.ndarray:
        if self.mode != "absorbing":
            return obs
        return np.append(np.zeros_like(obs) if absorbing else obs, 1.0 if absorbing else 0.0)

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict]:
        obs, info = self.env.reset(**kwargs)
        self.t, self.dead, self.last_obs = 0, False, obs
        return self._obs(obs), info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t += 1
        truncated_by_horizon = self.t >= self.horizon
        if self.dead:
            obs = self._obs(self.last_obs, absorbing=True)
            return obs, 0.0, False, truncated_by_horizon, {"after_termination": True}
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.last_obs = obs
        if terminated:
            self.dead = True
        return self._obs(obs), reward, False, truncated or truncated_by_horizon, info

    def get_state(self) -> dict:
        return {"t": self.t, "dead": self.dead, "last_obs": None if self.last_obs is None else self.last_obs.copy()}

    def set_state(self, state: dict) -> None:
        self.t, self.dead, self.last_obs = state["t"], state["dead"], state["last_obs"]


def make_env(config: EnvConfig) -> gym.Env:
    """The gymnasium env of ``config``: TimeLimit at the horizon, then the termination policy."""
    kwargs = {} if config.max_episode_steps is None else {"max_episode_steps": config.max_episode_steps}
    env = gym.make(config.env_id, disable_env_checker=True, **kwargs)
    if not isinstance(env.observation_space, gym.spaces.Box) or not isinstance(env.action_space, gym.spaces.Box):
        raise LitIRLError(f"{config.env_id} must have Box observation and action spaces (continuous control)")
    if config.termination != "plain":
        horizon = env.spec.max_episode_steps if env.spec and env.spec.max_episode_steps else 1000
        env = TerminationPolicy(env, config.termination, horizon)
    return env


def probe_env(config: EnvConfig) -> EnvSpecInfo:
    env = make_env(config)
    try:
        horizon = env.spec.max_episode_steps if env.spec and env.spec.max_episode_steps else 1000
        space = env.action_space
        return EnvSpecInfo(
            env_id=config.env_id,
            obs_dim=int(np.prod(env.observation_space.shape)),
            act_dim=int(np.prod(space.shape)),
            action_low=torch.as_tensor(space.low, dtype=torch.float32),
            action_high=torch.as_tensor(space.high, dtype=torch.float32),
            horizon=int(horizon),
        )
    finally:
        env.close()


# ---- exact snapshots (for bit-identical resume) ----
def _chain(env: gym.Env) -> list[gym.Env]:
    chain = [env]
    while isinstance(chain[-1], gym.Wrapper):
        chain.append(chain[-1].env)
    return chain


def get_env_state(env: gym.Env) -> dict | None:
    """Everything that decides the env's future given future actions, or ``None`` if unsupported.

    MuJoCo envs: the full integration state (``mjSTATE_INTEGRATION`` includes the solver warm
    start, without which a restored step is not bit-identical), the env's RNG, the time-limit
    counter and our termination wrapper's state.
    """
    import mujoco
    from gymnasium.envs.mujoco.mujoco_env import MujocoEnv

    base = env.unwrapped
    if not isinstance(base, MujocoEnv):
        return None
    spec = mujoco.mjtState.mjSTATE_INTEGRATION
    physics = np.empty(mujoco.mj_stateSize(base.model, spec), dtype=np.float64)
    mujoco.mj_getState(base.model, base.data, physics, spec)
    state: dict[str, Any] = {"physics": physics, "np_random": base.np_random.bit_generator.state, "wrappers": []}
    for layer in _chain(env):
        if isinstance(layer, gym.wrappers.TimeLimit):
            state["wrappers"].append(("TimeLimit", layer._elapsed_steps))
        elif isinstance(layer, TerminationPolicy):
            state["wrappers"].append(("TerminationPolicy", layer.get_state()))
    return state


def set_env_state(env: gym.Env, state: dict) -> None:
    import mujoco

    base = env.unwrapped
    mujoco.mj_setState(base.model, base.data, state["physics"], mujoco.mjtState.mjSTATE_INTEGRATION)
    base.np_random.bit_generator.state = state["np_random"]
    layers = iter(state["wrappers"])
    for layer in _chain(env):
        if isinstance(layer, gym.wrappers.TimeLimit):
            layer._elapsed_steps = next(layers)[1]
        elif isinstance(layer, TerminationPolicy):
            layer.set_state(next(layers)[1])
        elif isinstance(layer, gym.wrappers.OrderEnforcing):
            layer._has_reset = True
