"""AIHF: one reward learned jointly from demonstrations and preferences (Li et al., "Learning Reward
and Policy Jointly from Demonstration and Preference Improves Alignment", Algorithm 1), online."""

from __future__ import annotations

from typing import Literal

import torch
from tensordict import TensorDict

from lit_irl.algos.learner import TrainingConfig
from lit_irl.algos.ml_irl import MLIRL
from lit_irl.algos.off_policy import OffPolicyConfig
from lit_irl.algos.online import CollectionConfig
from lit_irl.envs import EnvConfig
from lit_irl.errors import LitIRLError, check_positive
from lit_irl.policy import SACConfig
from lit_irl.policy.ppo import PPOConfig, PPOPolicy, RewardScaler
from lit_irl.rewards import RewardConfig, aihf_loss
from lit_irl.rewards.preference_set import PreferenceSet


class AIHF(MLIRL):
    """AIHF, Algorithm 1 (v2): ML-IRL's loop with a reward step that also reads preferences.

    Per iteration (one ``training_step``, the loop of :class:`MLIRL`):

    1. policy alignment: ``env_steps_per_iteration`` env steps of SAC (default; from a random
       policy) or PPO (``policy_step: ppo``) under the current reward ``r_theta``;
    2. data sample I: ``agent_trajectories`` fresh episodes of the current policy from reset, and the
       expert's whole episodes (the likelihood gradient needs both from the initial-state
       distribution over the same horizon);
    3. data sample II: ``preference_batch`` labelled segment pairs (tau_w > tau_l);
    4. reward alignment: one Adam step (``reward_steps_per_iteration``; each on a fresh preference
       batch) on :meth:`reward_loss`, i.e. ascent on
       ``w1 (mean R(tau_E) - mean R(tau_A)) + mean log sigmoid((R(tau_w) - R(tau_l)) / beta)``
       (v2 eq. 22 with means in both terms: ``w1`` alone sets the ratio; ``w1 = |D| / |P|`` is the
       papers' count-weighted objective).

    ``beta`` is the policy step's temperature: SAC's alpha (its KL to a uniform pi^0 is the entropy
    term, v1 L502) or PPO's ``entropy_coef``; ``preference_temperature`` sets it instead. Special
    cases: ``w1 = 0`` learns the reward from preferences alone (the RLHF-type reward, trained
    alongside the policy); no ``preferences`` is ML-IRL (the same parameters under the same seed).

    Args (beyond :class:`MLIRL`'s):
        preferences: preference file (``lit-irl-data preferences``), or ``null`` for none.
        w1: weight of the demonstration term (>= 0).
        preference_batch: pairs per reward step.
        preference_temperature: beta of the BT term; ``null``: the policy step's temperature.
        preference_per_step: compare per-step mean rewards of the segments (segments of unequal length).
        held_out_pairs: share of pairs kept out of training for ``preference/heldout_accuracy``.
        policy_step: ``sac`` (the paper's MuJoCo runs) or ``ppo`` (its LLM runs; ours on MuJoCo).
        ppo: the PPO step when ``policy_step: ppo`` (``collection.env_steps_per_batch`` x
            ``num_envs`` env steps per PPO iteration; ``env_steps_per_iteration`` a multiple of it).
    """

    def __init__(
        self,
        env: EnvConfig,
        demonstrations: str,
        preferences: str | None = None,
        w1: float = 1.0,
        preference_batch: int = 64,
        preference_temperature: float | None = None,
        preference_per_step: bool = False,
        held_out_pairs: float = 0.1,
        policy_step: Literal["sac", "ppo"] = "sac",
        num_expert_trajectories: int = 10,
        held_out_expert_trajectories: int = 0,
        reward: RewardConfig = RewardConfig(inputs="sa"),  # never mutated
        sac: SACConfig = SACConfig(),  # never mutated
        ppo: PPOConfig = PPOConfig(),  # never mutated
        env_steps_per_iteration: int = 5_000,
        agent_trajectories: int = 10,
        reward_steps_per_iteration: int = 1,
        reward_gamma: float = 1.0,
        pad_to_horizon: bool = True,
        recovery_transitions: int = 1_000,
        training: TrainingConfig = TrainingConfig(log_every=5_000),
        collection: CollectionConfig = CollectionConfig(env_steps_per_batch=50),
        off_policy: OffPolicyConfig = OffPolicyConfig(warmup_steps=1_000),
    ) -> None:
        if w1 < 0:
            raise LitIRLError(f"w1 (the weight of the demonstrations) must be >= 0, got {w1}")
        if w1 == 0 and preferences is None:
            raise LitIRLError("w1 = 0 and no preferences leave nothing to learn the reward from: give preferences, or w1 > 0 (ML-IRL)")
        if policy_step not in ("sac", "ppo"):
            raise LitIRLError(f"policy_step must be sac or ppo, got {policy_step!r}")
        if preference_temperature is not None:
            check_positive(preference_temperature=preference_temperature)
        if policy_step == "ppo" and preference_temperature is None and ppo.entropy_coef <= 0:
            raise LitIRLError("the BT temperature beta is PPO's entropy_coef, which is 0: set ppo.entropy_coef > 0 or preference_temperature")
        check_positive(preference_batch=preference_batch)
        super().__init__(
            env, demonstrations, pad_to_horizon=pad_to_horizon, num_expert_trajectories=num_expert_trajectories,
            held_out_expert_trajectories=held_out_expert_trajectories, reward=reward, sac=sac,
            env_steps_per_iteration=env_steps_per_iteration, agent_trajectories=agent_trajectories, reward_gamma=reward_gamma,
            reward_steps_per_iteration=reward_steps_per_iteration,
            recovery_transitions=recovery_transitions, training=training, collection=collection, off_policy=off_policy,
        )  # fmt: skip
        self.save_hyperparameters()
        self.w1, self.preference_batch, self.preference_temperature = w1, preference_batch, preference_temperature
        self.policy_step = policy_step
        # numpy's stream (no draw from torch's): without preferences this is ML-IRL, parameter for parameter
        self.preferences = PreferenceSet(preferences, env, held_out_pairs, training.seed, preference_per_step) if preferences else None
        if policy_step == "ppo":
            if collection.collector != "fast":
                raise LitIRLError("policy_step ppo collects with collector fast (vectorized with collection.num_envs)")
            spec = self.env_spec
            self.policy = PPOPolicy(spec.obs_dim, spec.act_dim, spec.action_low, spec.action_high, ppo)
            self.actor = self.policy.actor
            self.reward_scaler = RewardScaler(collection.num_envs, ppo.gamma) if ppo.normalize_reward else None

    def configure_optimizers(self):
        if self.policy_step == "sac":
            return super().configure_optimizers()
        reward_optimizer, schedule = self.reward.make_scheduled_optimizer()
        return [self.policy.make_optimizer(), reward_optimizer], [schedule]

    @property
    def beta(self) -> float:
        """The BT temperature: ``preference_temperature``, else the policy step's (SAC's current alpha, PPO's entropy_coef)."""
        if self.preference_temperature is not None:
            return self.preference_temperature
        return float(self.policy.alpha) if self.policy_step == "sac" else self.policy.config.entropy_coef

    # ------------------------------------------------------------------ parts
    def policy_alignment(self, policy_optimizers: list) -> dict[str, torch.Tensor]:
        """Step 1: SAC (:class:`MLIRL`'s) or PPO iterations under ``r_theta`` (the env reward never reaches a loss)."""
        if self.policy_step == "sac":
            return super().policy_alignment(policy_optimizers)
        (optimizer,) = policy_optimizers
        stats: dict[str, torch.Tensor] = {}
        for _ in range(self.env_steps_per_iteration // self.env_steps_per_batch):
            with self.timed("env_steps"):
                transitions, _ = self.collect(self.actor)
            if self.policy.config.normalize_obs:
                self.actor.obs_normalizer.update(transitions["obs"])
            transitions = transitions.exclude("true_reward").to(self.device)
            with self.timed("sac_updates"), torch.no_grad():
                rewards = self.reward(transitions)
                if self.reward_scaler is not None:
                    rewards = self.reward_scaler(rewards, transitions["done"])
            with self.timed("sac_updates"):
                stats = self.policy.update(self.policy.prepare(transitions, rewards), optimizer, self.optimizer_step)
        return stats

    def reward_loss(self, agent: TensorDict, agent_mask: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Steps 3-4: ``w1 (R(agent) - R(expert)) - mean log sigmoid((R_w - R_l) / beta)`` on fresh
        preference pairs (:func:`lit_irl.rewards.aihf_loss`)."""
        preferred = rejected = None
        stats: dict[str, torch.Tensor] = {}
        if self.preferences is not None:
            pairs = self.preferences.batch(self.preference_batch, self.global_rank, int(self.reward_steps)).to(self.device)
            preferred, rejected = self.preferences.returns(pairs, self.reward, self.reward_gamma)
            stats = self.preferences.metrics(self.reward, self.reward_gamma, self.beta, self.device)
        demonstrations = self.w1 > 0
        loss, loss_stats = aihf_loss(
            self.reward(agent) if demonstrations else None, self.reward(self.expert) if demonstrations else None, preferred, rejected,
            w1=self.w1, gamma=self.reward_gamma, temperature=self.beta, agent_mask=agent_mask, expert_mask=self.expert_mask,
        )  # fmt: skip
        return loss, {**loss_stats, **stats, "preference/beta": torch.tensor(self.beta)}
