"""A Bradley-Terry reward model from preferences alone: the reward stage of the RLHF pipeline
(BC -> reward model -> RL; Christiano et al. 2017, Brown et al. 2019), offline."""

from __future__ import annotations

from typing import Any

import torch

from lit_irl.algos.learner import ReportEvaluation, TrainingConfig
from lit_irl.algos.offline import OfflineLearner
from lit_irl.envs import EnvConfig
from lit_irl.errors import LitIRLError, check_positive
from lit_irl.rewards import RewardConfig, RewardModel, bradley_terry_loss, refuse_scale_penalty
from lit_irl.rewards.preference_set import PreferenceSet


class PreferenceReward(ReportEvaluation, OfflineLearner):
    """Reward learning on segment pairs: per gradient step, ``batch_size`` pairs and one Adam step on
    ``-mean log sigmoid((R(tau_w) - R(tau_l)) / temperature)`` with ``R(tau) = sum_t gamma^t r(s_t, a_t)``.

    The env is never stepped: evaluation reports the held-out pairs' accuracy and loss and the
    correlation of learned with true segment returns (``eval/*``). The checkpoint's reward is what
    ``reward_from`` (SAC, PPO, MOPO) and ``lit-irl-data relabel`` read.

    Args:
        env: the env the pairs come from (env id and dims are checked).
        preferences: the preference file (``lit-irl-data preferences``).
        reward: reward network and optimizer (``lr``, ``weight_decay``, ``clamp``, inputs).
        batch_size: pairs per gradient step.
        temperature: beta of the choice model; 1 as the papers' reward-model stage.
        gamma: discount of the segment return.
        held_out_fraction: share of pairs kept out of training, for the held-out accuracy.
        per_step: compare per-step means (needed when the two sides' segments differ in length).
        training: budget (gradient steps), logging, evaluation schedule, seed.
    """

    def __init__(
        self,
        env: EnvConfig,
        preferences: str,
        reward: RewardConfig = RewardConfig(inputs="sa", hidden=[64, 64], lr=1e-3, weight_decay=0.0),  # never mutated
        batch_size: int = 64,
        temperature: float = 1.0,
        gamma: float = 1.0,
        held_out_fraction: float = 0.1,
        per_step: bool = False,
        training: TrainingConfig = TrainingConfig(total_steps=10_000, log_every=500),
    ) -> None:
        super().__init__(env, training)
        check_positive(batch_size=batch_size, temperature=temperature)
        if not 0.0 < gamma <= 1.0:
            raise LitIRLError(f"gamma must be in (0, 1], got {gamma}")
        self.save_hyperparameters()
        self.batch_size, self.temperature, self.gamma = batch_size, temperature, gamma
        spec = self.env_spec
        self.pairs = PreferenceSet(preferences, env, held_out_fraction, training.seed, per_step)
        refuse_scale_penalty(reward, "the preference reward model")
        self.reward = RewardModel(spec.obs_dim, spec.act_dim, reward)
        if reward.normalize_inputs:
            segments = self.pairs.train
            self.reward.set_input_normalization(torch.cat([segments["a", "obs"].flatten(0, 1), segments["b", "obs"].flatten(0, 1)]))
        self.actor = None

    def configure_optimizers(self):
        return self.reward.make_optimizer()

    def training_step(self, batch: int, batch_idx: int) -> None:
        optimizer, steps = self.optimizers(), self.gradient_steps_this_batch()
        for step in range(self.progress, self.progress + steps):
            pairs = self.pairs.batch(self.batch_size, self.global_rank, step).to(self.device)
            loss, stats = bradley_terry_loss(*self.pairs.returns(pairs, self.reward, self.gamma), self.temperature)
            self.optimizer_step(loss, optimizer, name="preference/loss")
        self.end_step(stats, steps)

    # -------------------------------------------------------------- evaluation
    def report(self) -> dict[str, float]:
        """No env: the held-out pairs (accuracy, loss, the learned reward of preferred and rejected segments)."""
        return {key.split("/", 1)[1]: float(value) for key, value in self.pairs.metrics(self.reward, self.gamma, self.temperature, self.device).items()}

    def report_heading(self) -> str:
        return f"{self.env_config.env_id} preference reward"

    def checkpoint_identity(self) -> dict[str, Any]:
        return {**super().checkpoint_identity(), "preferences": str(self.pairs.path)}
