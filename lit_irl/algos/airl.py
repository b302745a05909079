"""AIRL (Fu et al. 2018): adversarial IRL with a disentangled, state-only reward that transfers."""

from __future__ import annotations

import torch
from tensordict import TensorDict, TensorDictBase

from lit_irl.algos.gail import GAIL
from lit_irl.algos.learner import TrainingConfig
from lit_irl.algos.off_policy import LogProbTerm, OffPolicyConfig, RewardFn
from lit_irl.algos.online import CollectionConfig
from lit_irl.envs import EnvConfig
from lit_irl.errors import LitIRLError
from lit_irl.policy import SACConfig
from lit_irl.rewards import RewardConfig, RewardModel, refuse_scale_penalty
from lit_irl.rewards.adversarial import REWARD_FORMS, airl_shaped, reward_from_logits

G_AND_H = RewardConfig(inputs="s", hidden=[256, 256], activation="relu", clamp=None, lr=1e-4, weight_decay=0.0, betas=(0.0, 0.999))


class AIRL(GAIL):
    """AIRL: GAIL's loop with the structured discriminator ``D = exp f / (exp f + pi(a|s))``.

    ``f(s, s') = g(s) + gamma (1 - done) h(s') - h(s)``: ``g`` is the reward (state-only), ``h`` a
    shaping potential (0 at terminal states), ``gamma`` the SAC step's. The logit is
    ``l = f(s, s') - log pi(a|s)`` with the current policy's tanh-corrected log-density at the stored
    action (no gradient into the policy). The policy's reward is ``l`` (``reward_form: logit``, the
    paper's; with SAC's entropy term the policy then maximizes ``f`` plus (alpha - 1) times its
    entropy, so alpha 1 makes the two agree), or ``g`` alone (``reward_form: g``, the f-IRL repo's,
    with alpha 1). The transferable reward is ``g`` (``self.reward``): ``reward_from`` reads it, ``h``
    never enters it.

    Args (beyond :class:`GAIL`'s): ``reward`` configures ``g`` and, with the same layers, ``h``
    (default 2 x 256 ReLU, no clamp, Adam 1e-4 with beta1 0: the f-IRL repo's AIRL, which also standardizes
    states with the expert's statistics; ours does not by default: with one trajectory's statistics the
    unclamped ``f`` ran away, results/history.md); ``gradient_penalty``
    (default 0, as there) penalizes ``g`` and ``h`` through the interpolated ``s`` and ``s'``.
    """

    def __init__(
        self,
        env: EnvConfig,
        demonstrations: str,
        num_expert_trajectories: int = 1,
        reward: RewardConfig = G_AND_H,  # never mutated
        reward_form: str = "logit",
        gradient_penalty: float = 0.0,
        discriminator_updates: int = 5,
        discriminator_batch: int = 256,
        recent_agent_transitions: int = 10_000,
        sac: SACConfig = SACConfig(init_alpha=1.0, learn_alpha=False),  # never mutated
        training: TrainingConfig = TrainingConfig(log_every=5_000),
        collection: CollectionConfig = CollectionConfig(env_steps_per_batch=50),
        off_policy: OffPolicyConfig = OffPolicyConfig(warmup_steps=5_000),
        demonstrations_from_other_env: bool = False,
    ) -> None:
        if reward.inputs != "s":
            raise LitIRLError(f"AIRL's reward g is state-only (it is what transfers): reward.inputs must be s, got {reward.inputs!r}")
        if reward_form not in (*REWARD_FORMS, "g"):
            raise LitIRLError(f"reward_form must be one of {', '.join((*REWARD_FORMS, 'g'))}, got {reward_form!r}")
        super().__init__(
            env, demonstrations, num_expert_trajectories, reward, "logit", gradient_penalty, discriminator_updates,
            discriminator_batch, recent_agent_transitions, sac, training, collection, off_policy, demonstrations_from_other_env,
        )  # fmt: skip
        self.save_hyperparameters()
        self.reward_form = reward_form

    def expert_state_only(self) -> bool:
        return False  # the logit needs log pi(a|s) of the expert's actions

    def build_discriminator(self, config: RewardConfig) -> None:
        spec = self.env_spec
        refuse_scale_penalty(config, "AIRL")
        self.reward = RewardModel(spec.obs_dim, spec.act_dim, config)  # g: the reward that transfers
        self.shaping = RewardModel(spec.obs_dim, spec.act_dim, config)  # h: a potential, discarded after training
        if config.normalize_inputs:
            self.reward.set_input_normalization(self.expert["obs"])
            self.shaping.set_input_normalization(self.expert["obs"])

    def input_model(self) -> RewardModel:
        return self.reward  # g and h standardize with the same expert statistics

    def make_discriminator_optimizer(self) -> torch.optim.Optimizer:
        c = self.reward.config
        return torch.optim.Adam([*self.reward.parameters(), *self.shaping.parameters()], lr=c.lr, betas=tuple(c.betas), weight_decay=c.weight_decay)

    def discriminator_inputs(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return ("obs", "next_obs"), ("action", "terminated")

    def shaped_reward(self, batch: TensorDictBase) -> torch.Tensor:
        """``f(s, s')``."""
        # h(s) and h(s') in one pass over both sets of states (h is state-only).
        states = TensorDict({"obs": torch.cat([batch["obs"], batch["next_obs"]])}, batch_size=[2 * batch.shape[0], *batch.shape[1:]])
        h_obs, h_next_obs = self.shaping(states).split(batch.shape[0])
        return airl_shaped(self.reward(batch), h_obs, h_next_obs, batch["terminated"], self.policy.config.gamma)

    policy_term_keys = ("log_pi",)

    def with_policy_terms(self, rows: TensorDictBase) -> TensorDictBase:
        # All discriminator steps' rows in one actor pass: on Hopper 5 passes of 512 rows cost 2% of the SAC work.
        with torch.no_grad():
            return rows.set("log_pi", self.actor.log_prob(rows["obs"], rows["action"]))

    def logits(self, batch: TensorDictBase) -> torch.Tensor:
        """``f(s, s') - log pi(a|s)``, with ``log pi`` from the batch when :meth:`with_policy_terms` put it there
        (the gradient penalty's interpolated states get their own)."""
        if "log_pi" in batch.keys():
            log_pi = batch["log_pi"]
        else:
            with torch.no_grad():
                log_pi = self.actor.log_prob(batch["obs"], batch["action"])
        return self.shaped_reward(batch) - log_pi

    def policy_reward(self, batch: TensorDictBase) -> torch.Tensor:
        return self.reward(batch) if self.reward_form == "g" else reward_from_logits(self.logits(batch), self.reward_form)

    def policy_update_reward(self) -> tuple[RewardFn, LogProbTerm | None]:
        # f(s, s') is fixed between discriminator steps and relabels many batches in one pass; log pi moves
        # with every SAC update and comes from the update's own actor pass (tools/bench_throughput.py --only airl).
        if self.reward_form == "g":
            return self.reward, None
        return self.shaped_reward, lambda shaped, log_pi: reward_from_logits(shaped - log_pi, self.reward_form)
