"""PPO (Schulman et al. 2017), on-policy: on the env reward, on a learned reward, from a given actor."""

from __future__ import annotations

import torch

from lit_irl.algos.learner import TrainingConfig
from lit_irl.algos.online import CollectionConfig, OnlineLearner
from lit_irl.data.rollout import load_actor_for
from lit_irl.envs import EnvConfig
from lit_irl.errors import LitIRLError
from lit_irl.policy.ppo import PPOConfig, PPOPolicy, RewardScaler
from lit_irl.rewards.models import load_reward


class PPO(OnlineLearner):
    """Proximal policy optimization with GAE and a clipped surrogate.

    Per ``training_step`` (one policy iteration): collect ``collection.env_steps_per_batch`` steps
    from each of ``collection.num_envs`` envs with the current policy (no replay), compute the
    rewards (the env's, or a frozen learned reward), advantages and returns, then
    ``ppo.update_epochs`` passes of minibatch updates. Checkpoints fall between iterations, so a
    resumed run continues bit-identically.

    Args:
        env: environment and termination policy.
        ppo: PPO hyperparameters (networks, step size, GAE, clipping, normalization, KL).
        reward_from: an IRL checkpoint whose learned reward replaces the env reward (the env
            reward then never reaches a loss; it is logged as the true return).
        init_from: start the policy from this actor (a checkpoint of any learner, e.g. BC, or an
            exported policy): its architecture and weights replace ``ppo.actor*``; its observation
            statistics, if any, stay fixed (they define what its weights mean).
        reference_from: the policy of ``KL(pi || pi_ref)`` (``ppo.kl_coef``); by default ``init_from``.
        training: budget (env steps), logging, evaluation, seed.
        collection: envs stepped together and steps per env per iteration (2048 x 1 in the paper).
    """

    uses_env_reward = True

    def __init__(
        self,
        env: EnvConfig,
        ppo: PPOConfig = PPOConfig(),  # never mutated
        reward_from: str | None = None,
        init_from: str | None = None,
        reference_from: str | None = None,
        training: TrainingConfig = TrainingConfig(log_every=2_048, eval_episodes=10),
        collection: CollectionConfig = CollectionConfig(env_steps_per_batch=2_048),
    ) -> None:
        super().__init__(env, training, collection)
        if collection.collector != "fast":
            raise LitIRLError("PPO collects with collector fast (vectorized with collection.num_envs)")
        if ppo.kl_coef > 0 and (reference_from or init_from) is None:
            raise LitIRLError("ppo.kl_coef > 0 needs a reference policy: give reference_from (or init_from)")
        self.save_hyperparameters()
        self.uses_env_reward = reward_from is None
        spec = self.env_spec
        actor = self._load_actor(init_from) if init_from else None
        self.policy = PPOPolicy(spec.obs_dim, spec.act_dim, spec.action_low, spec.action_high, ppo, actor)
        self.actor = self.policy.actor
        self.update_obs_statistics = ppo.normalize_obs and init_from is None and getattr(self.actor, "obs_normalizer", None) is not None
        reference = reference_from or init_from
        self.reference = self._load_actor(reference).requires_grad_(False) if reference and ppo.kl_coef > 0 else None
        self.frozen_reward = load_reward(reward_from, spec.obs_dim, spec.act_dim) if reward_from else None
        self.reward_scaler = RewardScaler(collection.num_envs, ppo.gamma) if ppo.normalize_reward else None

    def _load_actor(self, path: str) -> torch.nn.Module:
        return load_actor_for(path, self.env_config.env_id, self.env_spec)

    def configure_optimizers(self):
        return self.policy.make_optimizer()

    def anneal_learning_rate(self, optimizer) -> None:
        """Linear decay to 0 over the budget, set before each iteration (CleanRL's anneal_lr)."""
        if self.policy.config.anneal_lr:
            remaining = max(1.0 - self.progress / self.total_steps, 0.0)
            for group in optimizer.param_groups:
                group["lr"] = remaining * self.policy.config.lr

    def training_step(self, batch: int, batch_idx: int) -> None:
        optimizer = self.optimizers()
        self.anneal_learning_rate(optimizer)
        transitions, _ = self.collect(self.actor)
        if self.update_obs_statistics:
            self.actor.obs_normalizer.update(transitions["obs"])
        transitions = transitions.to(self.device)
        with torch.no_grad():
            rewards = transitions["true_reward"] if self.frozen_reward is None else self.frozen_reward(transitions)
        if self.reward_scaler is not None:
            rewards = self.reward_scaler(rewards, transitions["done"])
        if self.uses_env_reward is False:
            transitions = transitions.exclude("true_reward")  # only metrics read it
        stats = self.policy.update(self.policy.prepare(transitions, rewards), optimizer, self.optimizer_step, self.reference)
        stats["ppo/lr"] = torch.tensor(optimizer.param_groups[0]["lr"])
        self.end_step(stats)
