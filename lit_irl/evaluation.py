"""Policy evaluation: deterministic episodes on a separate env, true return."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

from lit_irl.data.collect import derive_seed
from lit_irl.nn import TanhGaussianActor

EVAL_STREAM = 1_000_003  # seed component that separates evaluation episodes from training episodes


@torch.no_grad()
def run_episode(env: gym.Env, actor: TanhGaussianActor, seed: int, deterministic: bool = True) -> tuple[float, int]:
    """One episode from ``env.reset(seed=seed)``; returns (true return, length)."""
    obs, _ = env.reset(seed=seed)
    total, length, done = 0.0, 0, False
    while not done:
        device = actor.action_scale.device
        action = actor.act(torch.as_tensor(obs, dtype=torch.float32, device=device).unsqueeze(0), deterministic=deterministic)[0].cpu()
        obs, reward, terminated, truncated, _ = env.step(action.numpy())
        total += float(reward)
        length += 1
        done = terminated or truncated
    return total, length


def eval_seed(seed: int, episode: int) -> int:
    """Evaluation episode ``i`` starts from the same state at every evaluation (less noise between evals)."""
    return derive_seed(seed, EVAL_STREAM, episode)


def evaluate(env: gym.Env, actor: TanhGaussianActor, seed: int, episodes: list[int]) -> np.ndarray:
    return np.array([run_episode(env, actor, eval_seed(seed, i))[0] for i in episodes], dtype=np.float64)
