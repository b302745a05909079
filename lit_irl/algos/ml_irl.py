"""Maximum-likelihood inverse RL (Zeng et al. 2022; thesis Ch. 2, Algorithm 2), online."""

from __future__ import annotations

import time
from typing import Literal

import torch
from tensordict import TensorDict
from torchmetrics.functional import pearson_corrcoef, spearman_corrcoef

from lit_irl.algos.learner import TrainingConfig
from lit_irl.algos.off_policy import OffPolicyConfig, OffPolicyLearner
from lit_irl.algos.online import CollectionConfig
from lit_irl.data.collect import derive_seed
from lit_irl.data.modules import ExpertDemonstrations, padded_trajectories
from lit_irl.data.rollout import rollout
from lit_irl.envs import EnvConfig
from lit_irl.envs.true_reward import Locomotion, true_reward_of
from lit_irl.errors import LitIRLError, check_fraction, check_positive
from lit_irl.policy import SACConfig, SACPolicy
from lit_irl.rewards import RewardConfig, RewardModel, ml_irl_loss
from lit_irl.rewards.epic import RewardRecoveryAtEvaluation


def states_before_fall(agent: TensorDict, agent_mask: torch.Tensor) -> torch.Tensor:
    """Mask of the real steps of agent trajectories ``(N, T)`` up to and including the first terminal
    transition: what the SAC step collects rewards on (a fallen trajectory's padding is not)."""
    terminated = agent["terminated"].long()
    return agent_mask.bool() & ((terminated.cumsum(-1) - terminated) == 0)


class MLIRL(RewardRecoveryAtEvaluation, OffPolicyLearner):
    """ML-IRL: a single loop alternating a few SAC steps (fast timescale) and one reward step (slow).

    Per iteration (one ``training_step``), as Algorithm 2:

    1. policy update: ``env_steps_per_iteration`` env steps and ``off_policy.utd_ratio`` SAC updates per step
       under the current learned reward (replayed batches are relabelled by ``r_theta`` when
       sampled; the env reward is hidden from the learner and only logged);
    2. data sampling: ``agent_trajectories`` fresh trajectories of the current policy and the
       expert trajectories;
    3. reward update: one Adam step (``reward_steps_per_iteration``) on ``mean_agent R_theta(tau) - mean_expert R_theta(tau)``
       with ``R_theta(tau) = sum_t reward_gamma^t r_theta(s_t, a_t)``.

    The two timescales are set by ``env_steps_per_iteration`` (policy steps per reward step) and
    the reward step size ``reward.lr`` (optionally decayed, ``reward.lr_decay_power``).

    Args:
        env: environment; its reward is always hidden from the learner. ``plain`` termination
            (the official code's SAC step: a fall ends the episode, no bootstrapping past it) or
            ``fixed_horizon`` (the frozen state repeats until T in the SAC data too).
        pad_to_horizon: the reward step sees every trajectory at length T: an agent or expert
            trajectory that ends in a fall is continued with its terminal state (reward-step
            only; the SAC step keeps the env's termination). The official code's reward step does
            this (fixed-length agent rollouts), so the reward learns that fallen states are not
            the expert's. ``False``: shorter trajectories are masked. Always on under ``fixed_horizon``.
        agent_past_termination: the reward step's agent rollouts keep stepping the env after a fall
            until T, so the reward sees the states a fallen policy actually reaches rather than its
            terminal state repeated (the official code's rollouts under gym's old API). Only with
            ``plain`` termination.
        demonstrations: expert file (``lit-irl-data demos``, D4RL format).
        demonstrations_from_other_env: data transfer: the demonstrations were recorded in another
            env with the same spaces (e.g. CustomAnt-v0 demonstrations, learning in DisabledAnt-v0).
        num_expert_trajectories: expert trajectories used for learning (the first N of the file).
        held_out_expert_trajectories: further expert trajectories of the file for reward-recovery metrics.
        reward: reward network (r(s) / r(s,a) / r(s,a,s')) and its optimizer.
        sac: the SAC policy step.
        env_steps_per_iteration: policy env steps (per rank) between two reward steps.
        agent_trajectories: fresh agent trajectories per reward step (per rank).
        reward_steps_per_iteration: Adam steps of the reward per iteration, all on that iteration's
            fresh trajectories (AIHF: each on a fresh preference batch). 1, as Algorithm 2 and the
            official code; the step-size schedule counts every step.
        reward_gamma: discount of R_theta(tau); 1.0 reproduces the official code (undiscounted
            per-step means times T), the thesis writes gamma^t.
        fall_value: what a fall is worth in the SAC step's target (``plain`` termination): ``zero``
            (the official code: nothing after a fall) or ``learned``: staying in the fallen state
            forever under the learned reward, ``gamma r_theta(s') / (1 - gamma)``, which is what the
            reward step's padded trajectories (``pad_to_horizon``) charge a fall. Then a constant
            added to ``r_theta`` changes the worth of surviving and of falling alike, and the SAC step
            prefers what the reward prefers (with ``zero``, a positive offset pays surviving, e.g.
            standing, and a negative one pays falling early).
        policy_reward_scale: how the SAC step sees ``r_theta``. ``raw`` (the official code) or
            ``standardized``: ``(r_theta - m) / s``, ``m`` its mean over the latest agent trajectories'
            states up to a fall, ``s`` its std over those and the expert's, refreshed after each reward
            step (raw before the first). The reward loss fixes neither offset nor scale, yet SAC reads
            both against its entropy bonus; standardized, the policy's own states are worth 0 and the
            policy is soft-optimal at temperature ``alpha * s``. Measured on Hopper
            (``results/standing_hopper.md``) it makes things worse at the official reward step size:
            it blows up the untrained reward's noise and random ordering, and the hopper learns to
            fall. What removed the standing phase there is a faster reward step (``reward.lr`` 1e-3).
            ``centered``: ``r_theta - m + policy_reward_level``: the reward step is the official one, and
            the SAC step sees the agent's own states (before a fall) at ``policy_reward_level`` whatever
            level the reward has wandered to (the loss cannot see a constant added to ``r_theta``).
        policy_reward_level: the value the agent's states before a fall average in the SAC step's
            reward under ``centered`` and ``standardized`` (there 0 before this key existed): under
            ``plain`` termination, what surviving one more step is worth against falling.
        agent_reward_level: hold the mean learned reward of the agent's states up to a fall at this
            value (``None``: off, the official loss). The reward loss sums ``r_theta`` over T steps on
            both sides, so it is blind to a constant added to ``r_theta``; under ``plain`` termination
            that constant is what surviving is worth against falling (positive: standing pays;
            negative: falling does), and nothing but initialization and weight decay holds it. With
            several reward steps per iteration it drifted by +-5 per step on Hopper and the policy
            dived with it. A quadratic penalty on that one mean (weight ``100 T``: the likelihood's
            push on the agent's side moves it by 0.01 at most) removes only that free direction and
            leaves every difference between states to the likelihood. Measured on Hopper's cheap step
            it does hold the level, but its stiff gradients fill Adam's second moments: the expert /
            agent gap grew six times slower (overlay ``agent_level``); ``policy_reward_scale:
            centered`` holds the level the SAC step sees instead, without touching the reward step.
        recovery_transitions: at each evaluation, the EPIC distance of the learned reward to the
            env's true reward (``reward_recovery/epic``, with the raw ``pearson_coverage`` /
            ``spearman_coverage``) over a coverage set of this many transitions each of the expert
            data, the current policy and uniform actions (:mod:`lit_irl.rewards.epic`); 0 = off.
            Only for envs whose true reward has an (s, a, s') rewrite (:mod:`lit_irl.envs.true_reward`).
        training: budget (env steps of the policy step), logging, evaluation, seed.
        collection: how the env is stepped.
        off_policy: replay buffer, warm-up, SAC updates per env step.
    """

    def __init__(
        self,
        env: EnvConfig,
        demonstrations: str,
        demonstrations_from_other_env: bool = False,
        pad_to_horizon: bool = True,
        agent_past_termination: bool = False,
        num_expert_trajectories: int = 1,
        held_out_expert_trajectories: int = 0,
        reward: RewardConfig = RewardConfig(),  # never mutated
        sac: SACConfig = SACConfig(),  # never mutated
        env_steps_per_iteration: int = 5_000,
        agent_trajectories: int = 10,
        reward_steps_per_iteration: int = 1,
        reward_gamma: float = 1.0,
        fall_value: Literal["zero", "learned"] = "zero",
        policy_reward_scale: Literal["raw", "standardized", "centered"] = "raw",
        policy_reward_level: float = 0.0,
        agent_reward_level: float | None = None,
        recovery_transitions: int = 1_000,
        training: TrainingConfig = TrainingConfig(log_every=5_000),
        collection: CollectionConfig = CollectionConfig(env_steps_per_batch=50),
        off_policy: OffPolicyConfig = OffPolicyConfig(warmup_steps=1_000),
    ) -> None:
        if env.termination == "absorbing":
            raise LitIRLError("MLIRL supports termination plain (default) or fixed_horizon; absorbing states are for DAC-style methods")
        if agent_past_termination and env.termination == "fixed_horizon":
            raise LitIRLError(
                "agent_past_termination does nothing under termination fixed_horizon (the env already runs every "
                "episode to T, holding the fallen state); use one of them: plain termination with "
                "agent_past_termination: true (the official code's rollouts), or fixed_horizon alone"
            )
        super().__init__(env, training, collection, off_policy)
        check_positive(
            num_expert_trajectories=num_expert_trajectories,
            env_steps_per_iteration=env_steps_per_iteration,
            agent_trajectories=agent_trajectories,
            reward_steps_per_iteration=reward_steps_per_iteration,
        )
        check_fraction(reward_gamma=reward_gamma)
        if env_steps_per_iteration % self.env_steps_per_batch:
            raise LitIRLError(
                f"env_steps_per_iteration ({env_steps_per_iteration}) must be a multiple of a collection batch "
                f"(collection.env_steps_per_batch x num_envs = {self.env_steps_per_batch})"
            )
        if fall_value not in ("zero", "learned"):
            raise LitIRLError(f"fall_value must be zero or learned, got {fall_value!r}")
        if fall_value == "learned" and env.termination != "plain":
            raise LitIRLError(f"fall_value: learned is for termination plain (the env ends at a fall); under {env.termination} no transition is terminal")
        if policy_reward_scale not in ("raw", "standardized", "centered"):
            raise LitIRLError(f"policy_reward_scale must be raw, standardized or centered, got {policy_reward_scale!r}")
        if policy_reward_level != 0.0 and policy_reward_scale == "raw":
            raise LitIRLError(f"policy_reward_level {policy_reward_level} needs policy_reward_scale centered (or standardized): raw passes r_theta on as it is")
        if recovery_transitions < 0:
            raise LitIRLError(f"recovery_transitions must be >= 0 (0 turns the EPIC metric off), got {recovery_transitions}")
        if held_out_expert_trajectories < 0:
            raise LitIRLError(f"held_out_expert_trajectories must be >= 0, got {held_out_expert_trajectories}")
        self.save_hyperparameters()
        self.env_steps_per_iteration = env_steps_per_iteration
        self.agent_trajectories = agent_trajectories
        self.reward_steps_per_iteration = reward_steps_per_iteration
        self.reward_gamma = reward_gamma
        self.pad_to_horizon = pad_to_horizon or env.termination == "fixed_horizon"
        self.agent_past_termination = agent_past_termination
        spec = self.env_spec
        self.policy = SACPolicy(spec.obs_dim, spec.act_dim, spec.action_low, spec.action_high, sac)
        self.actor = self.policy.actor
        self.reward = RewardModel(spec.obs_dim, spec.act_dim, reward)
        self.register_buffer("reward_steps", torch.zeros((), dtype=torch.long))
        self.policy_reward_scale = policy_reward_scale
        self.agent_reward_level, self.policy_reward_level = agent_reward_level, policy_reward_level
        if policy_reward_scale != "raw":
            # Buffers, so a resume continues exactly; only here, so checkpoints of raw runs load as before.
            self.register_buffer("policy_reward_offset", torch.zeros(()))
            self.register_buffer("policy_reward_spread", torch.ones(()))

        # Expert trajectories, checked against the env now (a bad file fails before any training).
        state_only = reward.inputs == "s"
        demos = ExpertDemonstrations(
            demonstrations, env, num_expert_trajectories + held_out_expert_trajectories, state_only, other_env=demonstrations_from_other_env
        )
        demos.setup()
        self.demonstration_data = demos.data
        self.recovery_transitions = recovery_transitions
        self.fall_value = fall_value
        expert, expert_mask = padded_trajectories(demos.data, spec.horizon, self.pad_to_horizon, state_only)
        self.expert, self.expert_mask = expert[:num_expert_trajectories], expert_mask[:num_expert_trajectories]
        self.held_out = expert[num_expert_trajectories:][expert_mask[num_expert_trajectories:].bool()] if held_out_expert_trajectories else None
        if reward.normalize_inputs:
            # Only the rows the loss counts: zero padding of short episodes would bias the statistics.
            self.reward.set_input_normalization(self.expert["obs"][self.expert_mask.bool()])

    def configure_optimizers(self):
        reward_optimizer, schedule = self.reward.make_scheduled_optimizer()
        return [*self.policy.make_optimizers(), reward_optimizer], [schedule]

    def on_fit_start(self) -> None:
        super().on_fit_start()
        self.expert, self.expert_mask = self.expert.to(self.device), self.expert_mask.to(self.device)
        if self.held_out is not None:
            self.held_out = self.held_out.to(self.device)

    # ------------------------------------------------------------------ parts
    def sample_agent_trajectories(self) -> tuple[TensorDict, torch.Tensor]:
        """Fresh trajectories of the current (stochastic) policy; seeded by (seed, rank, reward step)."""
        seed = derive_seed(self.seed, self.global_rank, int(self.reward_steps), 3)
        data = rollout(
            self.env_config,
            self.actor,
            episodes=self.agent_trajectories,
            seed=seed,
            num_envs=self.agent_trajectories,
            record_physics=False,
            past_termination=self.agent_past_termination,
        )
        return padded_trajectories(data, self.env_spec.horizon, repeat_last=self.pad_to_horizon, state_only=self.reward.config.inputs == "s")

    def policy_reward(self, batch: TensorDict) -> torch.Tensor:
        """The reward the SAC step maximizes on a replayed batch: ``r_theta``, and with ``fall_value:
        learned`` the fallen state's learned reward for ever after at a terminal transition; both
        standardized under ``policy_reward_scale: standardized``."""
        reward = self.scaled_reward(batch)
        if self.fall_value == "zero":
            return reward
        fallen = batch.clone(recurse=False).set("obs", batch["next_obs"])  # the frozen state, as the reward step pads it
        gamma = self.policy.config.gamma
        return reward + batch["terminated"].to(reward.dtype) * gamma / (1.0 - gamma) * self.scaled_reward(fallen)

    def scaled_reward(self, batch: TensorDict) -> torch.Tensor:
        reward = self.reward(batch)
        if self.policy_reward_scale == "raw":
            return reward
        return (reward - self.policy_reward_offset) / self.policy_reward_spread

    @torch.no_grad()
    def refresh_policy_reward_scale(self, agent: TensorDict, agent_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """After a reward step: the mean of the new ``r_theta`` over the agent's states before any fall and
        its spread over agent and expert states (averaged over ranks, so every rank's SAC step sees one
        reward). The frozen states that pad a fallen trajectory are left out of the mean: the SAC step
        never collects their reward, and anchoring on them (most of a fallen policy's padded
        trajectory) made every state before the fall negative: measured, the hopper fell at once."""
        on_agent = self.reward(agent[states_before_fall(agent, agent_mask)])
        on_expert = self.reward(self.expert[self.expert_mask.bool()])
        level, spread = on_agent.mean(), torch.cat([on_agent, on_expert]).std()
        if self._trainer is not None:
            level, spread = (self.trainer.strategy.reduce(x, reduce_op="mean") for x in (level, spread))
        spread = spread.clamp_min(1e-3) if self.policy_reward_scale == "standardized" else torch.ones_like(spread)  # a flat reward is not blown up
        self.policy_reward_offset.copy_(level - self.policy_reward_level * spread)  # (r - offset) / spread = (r - level) / spread + policy_reward_level
        self.policy_reward_spread.copy_(spread)
        return {"reward/policy_offset": self.policy_reward_offset.clone(), "reward/policy_spread": self.policy_reward_spread.clone()}

    def agent_level_penalty(self, agent: TensorDict, agent_mask: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``100 T / 2 * (m - agent_reward_level)^2``, ``m`` the mean unclipped ``r_theta`` of the agent's states
        before any fall (the padding of a fallen trajectory is left out, as in :meth:`refresh_policy_reward_scale`);
        0 when ``agent_reward_level`` is off."""
        if self.agent_reward_level is None:
            return torch.zeros((), device=self.device), {}
        level = self.reward.unclipped(agent[states_before_fall(agent, agent_mask)]).mean()
        penalty = 50.0 * agent_mask.shape[-1] * (level - self.agent_reward_level).square()
        return penalty, {"reward/agent_level": level.detach(), "reward/level_penalty": penalty.detach()}

    @torch.no_grad()
    def recovery_metrics(self, agent: TensorDict, agent_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """How the learned reward relates to the (hidden) true one: correlations on agent and held-out expert transitions."""
        real = agent_mask.bool()
        learned, true = self.reward(agent[real]), agent[real]["true_reward"]
        metrics = {
            "reward/agent_step_mean": learned.mean(),
            "reward/expert_step_mean": self.reward(self.expert[self.expert_mask.bool()]).mean(),
            "train/agent_trajectory_return": (agent["true_reward"] * agent_mask).sum(-1).mean(),
        }
        # Fallen states: what a fall is worth to the learned reward decides standing against hopping.
        locomotion = true_reward_of(self.env_config.env_id)
        if isinstance(locomotion, Locomotion) and locomotion.terminates:
            fallen = real & ~locomotion.healthy(agent["obs"])
            metrics["train/agent_fallen_step_fraction"] = fallen.sum() / real.sum()
            if fallen.any():
                metrics["reward/fallen_state_mean"] = self.reward(agent[fallen]).mean()
        for name, rows in (("agent", (learned, true)), ("expert_heldout", None)):
            if rows is None:
                if self.held_out is None:
                    continue
                rows = (self.reward(self.held_out), self.held_out["true_reward"])
            learned_rows, true_rows = rows[0].double(), rows[1].double()
            # An (almost) constant true reward (a pendulum that never falls) has no correlation to report.
            if true_rows.std() > 1e-6 and learned_rows.std() > 1e-6:
                metrics[f"reward_recovery/pearson_{name}"] = pearson_corrcoef(learned_rows, true_rows).float()
                metrics[f"reward_recovery/spearman_{name}"] = spearman_corrcoef(learned_rows, true_rows).float()
        return metrics

    # ------------------------------------------------------------------- loop
    def policy_alignment(self, policy_optimizers: list) -> dict[str, torch.Tensor]:
        """``env_steps_per_iteration`` env steps and their SAC updates under the current learned reward."""
        stats: dict[str, torch.Tensor] = {}
        for _ in range(self.env_steps_per_iteration // self.env_steps_per_batch):
            self.collect_batch()
            stats = self.update_policy(self.policy_reward, policy_optimizers) or stats
        return stats

    def reward_loss(self, agent: TensorDict, agent_mask: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The reward step's loss: ``R_theta(agent) - R_theta(expert)`` (AIHF adds its preference term here)."""
        return ml_irl_loss(self.reward(agent), self.reward(self.expert), self.reward_gamma, agent_mask, self.expert_mask)

    def split_optimizers(self, optimizers: list) -> tuple[list, torch.optim.Optimizer]:
        """The policy step's optimizers and the reward's (the last); f-IRL keeps its classifier's between."""
        return optimizers[:-1], optimizers[-1]

    def training_step(self, batch: int, batch_idx: int) -> None:
        policy_optimizers, reward_optimizer = self.split_optimizers(self.optimizers())
        started, relabel_before = time.perf_counter(), self.relabel_seconds

        # 1. Policy update: SAC steps under the current learned reward.
        stats = self.policy_alignment(policy_optimizers)
        sac_seconds = time.perf_counter() - started - (self.relabel_seconds - relabel_before)
        if self.refilling_after_resume:
            # The policy has not moved since the resume (its buffer refills): the reward waits with it.
            self.end_step(stats)
            return

        # 2. Agent trajectories from the current policy; expert trajectories from the demonstrations.
        with self.timed("agent_rollouts"):
            agent, agent_mask = self.sample_agent_trajectories()
            agent, agent_mask = agent.to(self.device), agent_mask.to(self.device)

        # 3. Reward update: minimize  R_theta(agent) - R_theta(expert).
        with self.timed("reward_step"):
            for _ in range(self.reward_steps_per_iteration):
                loss, reward_stats = self.reward_loss(agent, agent_mask)
                penalty, penalty_stats = self.reward.scale_penalty((agent, agent_mask), (self.expert, self.expert_mask))
                level, level_stats = self.agent_level_penalty(agent, agent_mask)
                loss, reward_stats = loss + penalty + level, {**reward_stats, **penalty_stats, **level_stats}
                self.optimizer_step(loss, reward_optimizer, name="reward/loss")
                self.lr_schedulers().step()
                self.reward_steps += 1
            if self.policy_reward_scale != "raw":
                reward_stats.update(self.refresh_policy_reward_scale(agent, agent_mask))

        stats.update(reward_stats)
        with self.timed("reward_metrics"):
            stats.update(self.recovery_metrics(agent, agent_mask))
        stats["reward/lr"] = torch.tensor(reward_optimizer.param_groups[0]["lr"])
        stats["counters/reward_steps"] = self.reward_steps
        stats["perf/iteration_over_sac"] = torch.tensor((time.perf_counter() - started) / max(sac_seconds, 1e-9))
        self.end_step(stats)
