"""SAC on the environment's reward: the spine's reference algorithm and how experts are trained."""

from __future__ import annotations

import torch
from tensordict import TensorDictBase

from lit_irl.algos.learner import TrainingConfig
from lit_irl.algos.off_policy import OffPolicyConfig, OffPolicyLearner
from lit_irl.algos.online import CollectionConfig
from lit_irl.data.rollout import load_actor_for
from lit_irl.envs import EnvConfig
from lit_irl.errors import LitIRLError
from lit_irl.nn import TanhGaussianActor
from lit_irl.policy import SACConfig, SACPolicy
from lit_irl.rewards.models import load_reward


class SAC(OffPolicyLearner):
    """Soft actor-critic (Haarnoja et al., 2018) with automatic temperature tuning.

    Per ``training_step``: collect ``collection.env_steps_per_batch`` env steps, then make
    ``off_policy.utd_ratio`` SAC updates per env step on replayed batches with the env reward.

    With ``reward_from`` it learns from the frozen learned reward of an IRL checkpoint instead of
    the env's (reward transfer: e.g. a reward learned in CustomAnt-v0, SAC from scratch in
    DisabledAnt-v0); the env reward then never reaches a loss and is only logged as the true return.
    With ``init_from`` it fine-tunes a given actor (the RL stage of the RLHF pipeline: the BC policy
    on a preference reward model), optionally held near ``reference_from`` by ``sac.kl_coef``.

    Args:
        env: environment and termination policy.
        sac: SAC hyperparameters (networks, step sizes, temperature, batch size).
        reward_from: an IRL checkpoint whose learned reward replaces the env reward.
        init_from: start the actor from this checkpoint's or exported policy's (a tanh-Gaussian
            actor: BC with ``head: tanh_gaussian``, SAC); its architecture replaces ``sac.actor_hidden``,
            and the warm-up steps act with it rather than uniformly (the critic starts fresh).
        reference_from: the policy of ``KL(pi || pi_ref)`` when ``sac.kl_coef > 0``; by default ``init_from``.
        training: budget (env steps), logging, evaluation, seed.
        collection: how the env is stepped.
        off_policy: replay buffer, warm-up, updates per env step.
    """

    uses_env_reward = True

    def __init__(
        self,
        env: EnvConfig,
        sac: SACConfig = SACConfig(),  # never mutated: configs are read-only
        reward_from: str | None = None,
        init_from: str | None = None,
        reference_from: str | None = None,
        training: TrainingConfig = TrainingConfig(),
        collection: CollectionConfig = CollectionConfig(),
        off_policy: OffPolicyConfig = OffPolicyConfig(),
    ) -> None:
        super().__init__(env, training, collection, off_policy)
        self.save_hyperparameters()
        self.uses_env_reward = reward_from is None
        spec = self.env_spec
        actor = load_actor_for(init_from, env.env_id, spec, TanhGaussianActor) if init_from else None
        reference = reference_from or init_from
        if sac.kl_coef > 0 and reference is None:
            raise LitIRLError("sac.kl_coef > 0 needs a reference policy: give reference_from (or init_from)")
        reference_actor = load_actor_for(reference, env.env_id, spec, TanhGaussianActor) if reference and sac.kl_coef > 0 else None
        self.policy = SACPolicy(spec.obs_dim, spec.act_dim, spec.action_low, spec.action_high, sac, actor, reference_actor)
        self.warmup_with_actor = init_from is not None
        self.actor = self.policy.actor
        self.frozen_reward = load_reward(reward_from, spec.obs_dim, spec.act_dim) if reward_from else None

    def configure_optimizers(self):
        return self.policy.make_optimizers()

    def reward(self, batch: TensorDictBase) -> torch.Tensor:
        return batch["true_reward"] if self.frozen_reward is None else self.frozen_reward(batch)

    def training_step(self, batch: int, batch_idx: int) -> None:
        self.collect_batch()
        stats = self.update_policy(self.reward, self.optimizers())
        self.end_step(stats)
