"""GAIL (Ho & Ermon 2016) with a SAC generator, as the thesis compares against (rl_swiss' setting)."""

from __future__ import annotations

from typing import Any

import torch
from tensordict import TensorDict, TensorDictBase

from lit_irl.algos.learner import TrainingConfig
from lit_irl.algos.off_policy import LogProbTerm, OffPolicyConfig, OffPolicyLearner, RewardFn
from lit_irl.algos.online import CollectionConfig
from lit_irl.data import TransitionReplay
from lit_irl.data.modules import expert_transitions
from lit_irl.envs import EnvConfig
from lit_irl.errors import LitIRLError, check_positive
from lit_irl.policy import SACConfig, SACPolicy
from lit_irl.rewards import RewardConfig, RewardModel, refuse_scale_penalty
from lit_irl.rewards.adversarial import check_reward_form, discriminator_loss, gradient_penalty, reward_from_logits

DISCRIMINATOR = RewardConfig(
    inputs="sa", hidden=[128, 128], activation="tanh", clamp=10.0, lr=3e-4, weight_decay=0.0, betas=(0.0, 0.999), normalize_inputs=True
)


class GAIL(OffPolicyLearner):
    """Generative adversarial imitation: a discriminator of expert vs agent (s, a), SAC on its reward.

    Per ``training_step``: one collection batch into the replay buffer, then

    1. ``discriminator_updates`` Adam steps on the binary cross-entropy of expert transitions
       (label 1) against the agent's most recent ``recent_agent_transitions`` (rl_swiss keeps 20k so
       that they stay near on-policy), plus ``gradient_penalty`` x (||grad l|| - 1)^2;
    2. SAC updates (``off_policy.utd_ratio`` per env step) on replayed batches rewarded by
       ``reward_form`` of the current discriminator's logit (:mod:`lit_irl.rewards.adversarial`,
       which also says how each form biases episodes that end early).

    GAIL recovers no reward that transfers (the optimal discriminator depends on the policy): its
    checkpoint holds a ``discriminator``, never a ``reward``, and ``reward_from`` refuses it.

    Args:
        env: environment and termination policy (``fixed_horizon`` removes the reward forms' survival
            or termination bias on envs that end early).
        demonstrations: expert file (D4RL format); ``num_expert_trajectories`` of its first episodes.
        discriminator: its network and optimizer (a logit on ``inputs``: ``sa`` as GAIL, ``s`` for
            state-only imitation; default 2 x 128 tanh, logits clamped to +-10, Adam 3e-4 with beta1 0,
            states standardized with the expert's mean and std: rl_swiss, which standardizes its env's
            states so; the gradient penalty is then taken on the standardized states).
        reward_form: ``log_d`` (default: rl_swiss, the thesis' GAIL), ``neg_log_one_minus_d`` or ``logit``.
        gradient_penalty: weight of the gradient penalty (0: none; the f-IRL repo uses 4).
        discriminator_updates: discriminator steps per collection batch (rl_swiss: 100 per 1000 env steps).
        discriminator_batch: expert and agent transitions per discriminator step (each).
        recent_agent_transitions: how many of the newest agent transitions the discriminator sees.
        sac, training, collection, off_policy: the policy step and the budget (env steps).
        demonstrations_from_other_env: data transfer: the demonstrations were recorded in another env
            with the same spaces (e.g. CustomAnt-v0 demonstrations, imitating in DisabledAnt-v0).
    """

    def __init__(
        self,
        env: EnvConfig,
        demonstrations: str,
        num_expert_trajectories: int = 1,
        discriminator: RewardConfig = DISCRIMINATOR,  # never mutated
        reward_form: str = "log_d",
        gradient_penalty: float = 4.0,
        discriminator_updates: int = 5,
        discriminator_batch: int = 256,
        recent_agent_transitions: int = 20_000,
        sac: SACConfig = SACConfig(init_alpha=0.2, learn_alpha=False),  # never mutated
        training: TrainingConfig = TrainingConfig(log_every=5_000),
        collection: CollectionConfig = CollectionConfig(env_steps_per_batch=50),
        off_policy: OffPolicyConfig = OffPolicyConfig(warmup_steps=5_000),
        demonstrations_from_other_env: bool = False,
    ) -> None:
        super().__init__(env, training, collection, off_policy)
        check_reward_form(reward_form)
        check_positive(num_expert_trajectories=num_expert_trajectories, discriminator_updates=discriminator_updates,
                       discriminator_batch=discriminator_batch, recent_agent_transitions=recent_agent_transitions)  # fmt: skip
        if gradient_penalty < 0:
            raise LitIRLError(f"gradient_penalty must be >= 0 (0 turns it off), got {gradient_penalty}")
        self.save_hyperparameters()
        self.reward_form, self.penalty_weight = reward_form, gradient_penalty
        self.discriminator_updates, self.discriminator_batch = discriminator_updates, discriminator_batch
        self.recent_capacity, self.discriminator_config = recent_agent_transitions, discriminator
        spec = self.env_spec
        self.policy = SACPolicy(spec.obs_dim, spec.act_dim, spec.action_low, spec.action_high, sac)
        self.actor = self.policy.actor
        self.demonstration_data, self.expert = expert_transitions(
            demonstrations, env, num_expert_trajectories, self.expert_state_only(), other_env=demonstrations_from_other_env
        )
        self.build_discriminator(discriminator)
        self.recent: TransitionReplay | None = None

    # ------------------------------------------------------------ the parts
    policy_term_keys: tuple[str, ...] = ()  # the keys with_policy_terms adds

    def expert_state_only(self) -> bool:
        return self.discriminator_config.inputs == "s"

    def build_discriminator(self, config: RewardConfig) -> None:
        spec = self.env_spec
        refuse_scale_penalty(config, "GAIL's discriminator")
        self.discriminator = RewardModel(spec.obs_dim, spec.act_dim, config)
        if config.normalize_inputs:
            self.discriminator.set_input_normalization(self.expert["obs"])

    def input_model(self) -> RewardModel:
        """The network whose input standardization the gradient penalty follows."""
        return self.discriminator

    def discriminator_inputs(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The keys the gradient penalty interpolates, and those it passes through."""
        return {"s": ("obs",), "sa": ("obs", "action"), "sas": ("obs", "action", "next_obs")}[self.discriminator.config.inputs], ()

    def logits(self, batch: TensorDictBase) -> torch.Tensor:
        return self.discriminator(batch)

    def make_discriminator_optimizer(self) -> torch.optim.Optimizer:
        return self.discriminator.make_optimizer()

    def configure_optimizers(self):
        return [*self.policy.make_optimizers(), self.make_discriminator_optimizer()]

    def setup(self, stage: str) -> None:
        super().setup(stage)
        if stage == "fit" and self.recent is None:
            self.recent = TransitionReplay(self.recent_capacity, hide_true_reward=True)

    def collect_batch(self) -> TensorDictBase:
        transitions = super().collect_batch()
        self.recent.extend(transitions)  # the discriminator's small buffer of the newest agent data
        return transitions

    def expert_batch(self, size: int) -> TensorDict:
        return self.expert[torch.randint(0, self.expert.shape[0], (size,))].to(self.device)

    def discriminator_batches(self, steps: int) -> list[tuple[TensorDictBase, TensorDictBase]]:
        """The expert and agent rows of ``steps`` discriminator steps, drawn together (one draw per side)."""
        rows = steps * self.discriminator_batch
        expert, agent = self.with_policy_terms(self.expert_batch(rows)), self.with_policy_terms(self.recent.sample(rows).to(self.device))
        return list(zip(expert.split(self.discriminator_batch), agent.split(self.discriminator_batch), strict=True))

    def with_policy_terms(self, rows: TensorDictBase) -> TensorDictBase:
        """``rows`` with what the logit reads of the policy, which stays as it is through the
        discriminator steps (AIRL's ``log pi``): none for GAIL."""
        return rows

    def discriminator_step(self, expert: TensorDictBase, agent: TensorDictBase, optimizer) -> dict[str, torch.Tensor]:
        loss, stats = discriminator_loss(*self.paired_logits(expert, agent))
        if self.penalty_weight > 0:
            keys, carry = self.discriminator_inputs()
            # On the standardized states when the discriminator standardizes them (std 1 otherwise).
            std = self.input_model().obs_std
            penalty = gradient_penalty(self.logits, expert, agent, keys, carry=carry, input_scale={"obs": std, "next_obs": std})
            loss = loss + self.penalty_weight * penalty
            stats["discriminator/gradient_penalty"] = penalty.detach()
        self.optimizer_step(loss, optimizer, name="discriminator/loss")
        return stats

    def paired_logits(self, expert: TensorDictBase, agent: TensorDictBase) -> tuple[torch.Tensor, torch.Tensor]:
        """The logits of expert and agent rows from one forward pass over both: half the layer calls
        of two passes (AIRL's discriminator step on Hopper 1.06x faster, measured A/B)."""
        keys = [key for group in self.discriminator_inputs() for key in group]
        keys += [key for key in self.policy_term_keys if key in expert.keys()]  # when with_policy_terms put them there
        return self.logits(torch.cat([expert.select(*keys), agent.select(*keys)])).split([expert.shape[0], agent.shape[0]])

    def policy_reward(self, batch: TensorDictBase) -> torch.Tensor:
        return reward_from_logits(self.logits(batch), self.reward_form)

    def policy_update_reward(self) -> tuple[RewardFn, LogProbTerm | None]:
        """What :meth:`update_policy` relabels with: :meth:`policy_reward`, in two parts when a part
        reads the current policy (AIRL's ``log pi``)."""
        return self.policy_reward, None

    # ------------------------------------------------------------ the loop
    def training_step(self, batch: int, batch_idx: int) -> None:
        *policy_optimizers, discriminator_optimizer = self.optimizers()
        self.collect_batch()
        stats: dict[str, torch.Tensor] = {}
        if self.learning_started:
            # 1. Discriminator: expert vs the agent's recent transitions.
            with self.timed("reward_step"):
                for expert, agent in self.discriminator_batches(self.discriminator_updates):
                    stats.update(self.discriminator_step(expert, agent, discriminator_optimizer))
            # 2. Policy: SAC on the discriminator's reward.
            reward_fn, log_prob_term = self.policy_update_reward()
            stats.update(self.update_policy(reward_fn, policy_optimizers, log_prob_term=log_prob_term))
        self.end_step(stats)

    # ------------------------------------------------------------ run state
    def run_state(self) -> dict[str, Any]:
        return {**super().run_state(), "recent": self.recent.state_dict()}

    def load_run_state(self, state: dict[str, Any]) -> None:
        super().load_run_state(state)
        self.recent.load_state_dict(state["recent"])
