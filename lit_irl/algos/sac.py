"""SAC on the environment's reward: the spine's reference algorithm and how experts are trained."""

from __future__ import annotations

import dataclasses

import torch

from lit_irl.algos.base import OnlineRLModule
from lit_irl.data.collect import CollectorKind
from lit_irl.envs import EnvConfig
from lit_irl.errors import LitIRLError, check_positive
from lit_irl.policy import SACConfig, SACPolicy
from lit_irl.rewards.models import load_reward


class SAC(OnlineRLModule):
    """Soft actor-critic (Haarnoja et al., 2018) with automatic temperature tuning.

    Per ``training_step``: collect ``env_steps_per_batch`` env steps, then make
    ``utd_ratio * env_steps_per_batch`` SAC updates on replayed batches with the env reward.

    With ``reward_from`` it learns from the frozen learned reward of an IRL checkpoint instead of
    the env's (reward transfer: e.g. a reward learned in CustomAnt-v0, SAC from scratch in
    DisabledAnt-v0); the env reward is then hidden and only logged as the true return.

    The remaining arguments are those of :class:`OnlineRLModule` (collection, budget, evaluation).

    Args:
        env: environment (``hide_reward`` must be false unless ``reward_from`` is given).
        sac: SAC hyperparameters (networks, step sizes, temperature, batch size).
        utd_ratio: updates per env step (update-to-data ratio).
        reward_from: an IRL checkpoint whose learned reward replaces the env reward.
    """

    def __init__(
        self,
        env: EnvConfig,
        sac: SACConfig = SACConfig(),  # never mutated: configs are read-only
        utd_ratio: int = 1,
        reward_from: str | None = None,
        total_env_steps: int = 1_000_000,
        warmup_steps: int = 5_000,
        env_steps_per_batch: int = 10,
        buffer_size: int = 1_000_000,
        collector: CollectorKind = "fast",
        collector_workers: int = 2,
        eval_episodes: int = 10,
        log_every_env_steps: int = 1_000,
        seed: int = 0,
    ) -> None:
        if reward_from is not None:
            env = dataclasses.replace(env, hide_reward=True)
        super().__init__(
            env, total_env_steps, warmup_steps, env_steps_per_batch, buffer_size, collector, collector_workers, eval_episodes, log_every_env_steps, seed
        )
        if env.hide_reward and reward_from is None:
            raise LitIRLError("SAC learns from the env reward: set model.env.hide_reward to false, or give reward_from (a learned reward)")
        check_positive(utd_ratio=utd_ratio)
        self.save_hyperparameters()
        self.utd_ratio = utd_ratio
        spec = self.env_spec
        self.policy = SACPolicy(spec.obs_dim, spec.act_dim, spec.action_low, spec.action_high, sac)
        self.actor = self.policy.actor
        self.frozen_reward = load_reward(reward_from, spec.obs_dim, spec.act_dim) if reward_from else None

    def configure_optimizers(self):
        return self.policy.make_optimizers()

    def training_step(self, batch: int, batch_idx: int) -> None:
        self.collect()
        stats = {}
        if self.learning_started:
            optimizers = self.optimizers()
            for _ in range(self.utd_ratio * self.env_steps_per_batch):
                replayed = self.replay.sample(self.policy.config.batch_size).to(self.device)
                if self.frozen_reward is None:
                    reward = replayed["true_reward"]
                else:
                    with torch.no_grad():
                        reward = self.frozen_reward(replayed)
                stats = self.policy.update(replayed, reward, optimizers, self.manual_backward)
        self.log_training(stats)
        self.stop_when_done()
