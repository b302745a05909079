"""Offline ML-IRL (thesis Ch. 3, Algorithm 3): a reward and a policy from expert demonstrations and a
transition dataset, never touching the real env (evaluation aside)."""

from __future__ import annotations

import torch
from tensordict import TensorDict

from lit_irl.algos.learner import TrainingConfig
from lit_irl.algos.mopo import MOPO, MOPOConfig
from lit_irl.data.collect import derive_seed
from lit_irl.data.modules import ExpertDemonstrations
from lit_irl.envs import EnvConfig
from lit_irl.errors import LitIRLError, check_fraction, check_positive
from lit_irl.models.rollout import model_rollout
from lit_irl.policy import SACConfig
from lit_irl.rewards import RewardConfig, RewardModel, ml_irl_sample_mean_loss
from lit_irl.rewards.epic import RewardRecoveryAtEvaluation


class OfflineMLIRL(RewardRecoveryAtEvaluation, MOPO):
    """Offline ML-IRL: MOPO policy steps under ``r_theta - lambda u``, then one reward step.

    Per gradient step (``training_step`` makes up to 50), as Algorithm 3:

    1. policy step: MOPO's — model rollouts of the current policy every ``mopo.rollout_every``
       steps, and one SAC update on the real / model mix rewarded ``r_theta`` (real rows) and
       ``r_theta - lambda u`` (model rows), ``r_theta`` evaluated when the batch is sampled;
    2. every ``reward_every`` gradient steps, data: each expert trajectory's first
       ``reward_horizon`` (s, a), and one model rollout of the current policy from each expert
       trajectory's initial state, up to ``reward_horizon`` steps (ended by the termination function);
    3. reward step: one Adam step on ``mean r_theta(agent) - mean r_theta(expert)`` over the
       samples, each weighted ``reward_gamma^t`` (default 1: undiscounted per-sample means, as the
       official code).

    The dataset's reward is never used: it is not even kept, the world model must have no reward
    head, and real rows in SAC batches get ``r_theta`` only (the official code adds the dataset
    reward there). Official timescale: one reward step per 20 epochs of 1000 SAC steps
    (``reward_every: 20000``).

    Args:
        env: the env of the data (dims checked) and of evaluation.
        dataset: transitions (D4RL format, with ``next_observations``); their rewards are ignored.
        world_model: a ``WorldModel`` checkpoint of this env trained without a reward head.
        demonstrations: expert trajectories (D4RL format).
        num_expert_trajectories: the first N complete episodes of the demonstrations.
        reward: reward network and its optimizer (default: r(s, a) on (256, 256) ReLU layers, output
            clamped to +-10, Adam 1e-4 with weight decay 1e-3 — the official net has no activation
            after its first layer, ``reward.linear_first_layer: true``).
        reward_horizon: expert steps and agent model steps per reward step (official: 200).
        reward_every: gradient steps between reward steps.
        reward_gamma: per-step weight ``gamma^t`` of the reward loss.
        recovery_transitions: at each evaluation, the EPIC distance of the learned reward to the
            env's true reward over this many transitions each of the expert data, the current policy
            and uniform actions (real env steps, as evaluation's; :mod:`lit_irl.rewards.epic`); 0 = off.
        mopo, sac, training: the policy step and the budget (gradient steps).
    """

    uses_dataset_reward = False

    def __init__(
        self,
        env: EnvConfig,
        dataset: str,
        world_model: str,
        demonstrations: str,
        num_expert_trajectories: int = 5,
        reward: RewardConfig = RewardConfig(inputs="sa", hidden=[256, 256]),  # never mutated
        reward_horizon: int = 200,
        reward_every: int = 20_000,
        reward_gamma: float = 1.0,
        recovery_transitions: int = 1_000,
        mopo: MOPOConfig = MOPOConfig(),  # never mutated
        sac: SACConfig = SACConfig(),  # never mutated
        training: TrainingConfig = TrainingConfig(total_steps=1_000_000, log_every=1_000),
    ) -> None:
        check_positive(num_expert_trajectories=num_expert_trajectories, reward_horizon=reward_horizon, reward_every=reward_every)
        check_fraction(reward_gamma=reward_gamma)
        super().__init__(env, dataset, world_model, mopo=mopo, sac=sac, training=training)
        self.save_hyperparameters()
        if self.world_model.predict_reward:
            raise LitIRLError(
                f"the world model {world_model!r} has a reward head, trained on the dataset reward; Offline ML-IRL must not "
                "learn from it: train the world model with world_model.predict_reward: false"
            )
        self.reward_horizon, self.reward_every, self.reward_gamma = reward_horizon, reward_every, reward_gamma
        spec = self.env_spec
        self.reward = RewardModel(spec.obs_dim, spec.act_dim, reward)
        self.register_buffer("reward_steps", torch.zeros((), dtype=torch.long))
        demos = ExpertDemonstrations(demonstrations, env, num_expert_trajectories, state_only=reward.inputs == "s")
        demos.setup()
        self.demonstration_data, self.recovery_transitions = demos.data, recovery_transitions
        trajectories = demos.trajectories()
        shortest = min(trajectory.shape[0] for trajectory in trajectories)
        if shortest < reward_horizon:
            raise LitIRLError(
                f"an expert trajectory of {demonstrations} has {shortest} steps, fewer than reward_horizon {reward_horizon}; "
                f"set reward_horizon <= {shortest} or use longer demonstrations"
            )
        self.expert = torch.stack([trajectory[:reward_horizon] for trajectory in trajectories]).exclude("true_reward")
        if reward.normalize_inputs:
            self.reward.set_input_normalization(self.expert["obs"])

    def configure_optimizers(self):
        return [*self.policy.make_optimizers(), self.reward.make_optimizer()]

    def reward_of(self, batch: TensorDict, real: bool) -> torch.Tensor:
        """``r_theta`` of the sampled rows, real or model (no gradient reaches the reward here)."""
        with torch.no_grad():
            return self.reward(batch)

    def agent_trajectories(self) -> tuple[TensorDict, torch.Tensor]:
        """One model rollout of the current policy from each expert trajectory's initial state."""
        generator = torch.Generator().manual_seed(derive_seed(self.seed, self.global_rank, int(self.reward_steps), 13))
        start = self.expert["obs"][:, 0].to(self.device)
        return model_rollout(self.world_model, self.actor, start, self.reward_horizon, self.terminated, generator=generator)

    def reward_step(self, reward_optimizer) -> dict[str, torch.Tensor]:
        agent, agent_mask = self.agent_trajectories()
        expert = self.expert.to(self.device)
        expert_mask = torch.ones(expert.batch_size, device=self.device)
        loss, stats = ml_irl_sample_mean_loss(self.reward(agent), self.reward(expert), self.reward_gamma, agent_mask, expert_mask)
        penalty, penalty_stats = self.reward.scale_penalty((agent, agent_mask), (expert, expert_mask))
        loss, stats = loss + penalty, {**stats, **penalty_stats}
        self.optimizer_step(loss, reward_optimizer, name="reward/loss")
        self.reward_steps += 1
        return {**stats, "reward/agent_rollout_steps": agent_mask.sum(-1).float().mean(), "counters/reward_steps": self.reward_steps}

    def training_step(self, batch: int, batch_idx: int) -> None:
        *policy_optimizers, reward_optimizer = self.optimizers()
        steps = self.gradient_steps_this_batch()
        stats: dict[str, torch.Tensor] = {}
        for step in range(self.progress, self.progress + steps):
            # 1. Policy step: MOPO under r_theta - lambda u.
            self.policy_step(step, policy_optimizers, stats)
            # 2-3. Expert and agent samples, one reward step (slow timescale).
            if (step + 1) % self.reward_every == 0:
                with self.timed("reward_step"):
                    stats.update(self.reward_step(reward_optimizer))
        self.end_step(stats, steps)
