"""SQIL (Reddy et al. 2020): soft Q imitation, SAC on a 50/50 mix of expert (reward 1) and agent (reward 0) transitions."""

from __future__ import annotations

import torch
from tensordict import TensorDictBase

from lit_irl.algos.learner import TrainingConfig
from lit_irl.algos.off_policy import OffPolicyConfig, OffPolicyLearner
from lit_irl.algos.online import CollectionConfig
from lit_irl.data.modules import expert_transitions
from lit_irl.envs import EnvConfig
from lit_irl.errors import check_positive
from lit_irl.policy import SACConfig, SACPolicy


class SQIL(OffPolicyLearner):
    """Per ``training_step``: one collection batch, then SAC updates (``off_policy.utd_ratio`` per env
    step) on batches of half expert transitions rewarded 1 and half replayed agent transitions
    rewarded 0 (lambda_samp = 1), the shared SAC update unchanged. A terminal expert transition has no
    bootstrap (its next state's value is 0), as every SAC target here.

    No reward is learned: the checkpoint has none for ``reward_from``.

    Args:
        env: environment and termination policy.
        demonstrations: expert file; ``num_expert_trajectories`` of its first episodes.
        sac, training, collection, off_policy: the SAC step and the budget (env steps).
    """

    def __init__(
        self,
        env: EnvConfig,
        demonstrations: str,
        num_expert_trajectories: int = 1,
        sac: SACConfig = SACConfig(),  # never mutated
        training: TrainingConfig = TrainingConfig(log_every=5_000),
        collection: CollectionConfig = CollectionConfig(env_steps_per_batch=50),
        off_policy: OffPolicyConfig = OffPolicyConfig(warmup_steps=5_000),
    ) -> None:
        super().__init__(env, training, collection, off_policy)
        check_positive(num_expert_trajectories=num_expert_trajectories)
        self.save_hyperparameters()
        spec = self.env_spec
        self.policy = SACPolicy(spec.obs_dim, spec.act_dim, spec.action_low, spec.action_high, sac)
        self.actor = self.policy.actor
        self.demonstration_data, self.expert = expert_transitions(demonstrations, env, num_expert_trajectories)

    def configure_optimizers(self):
        return self.policy.make_optimizers()

    def mixed_batch(self, size: int) -> TensorDictBase:
        """Half expert rows (``is_expert`` 1), half replayed agent rows (0)."""
        expert_rows = size // 2
        expert = self.expert[torch.randint(0, self.expert.shape[0], (expert_rows,))]
        agent = self.replay.sample(size - expert_rows).select("obs", "action", "next_obs", "terminated")
        expert, agent = expert.set("is_expert", torch.ones(expert_rows)), agent.set("is_expert", torch.zeros(size - expert_rows))
        return torch.cat([expert, agent.to(expert.device)])

    @staticmethod
    def sqil_reward(batch: TensorDictBase) -> torch.Tensor:
        return batch["is_expert"]

    def training_step(self, batch: int, batch_idx: int) -> None:
        self.collect_batch()
        stats = self.update_policy(self.sqil_reward, self.optimizers(), sample=self.mixed_batch)
        self.end_step(stats)
