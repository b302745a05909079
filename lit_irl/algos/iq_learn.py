"""IQ-Learn (Garg et al. 2021): inverse soft-Q learning, online, written from the paper's equations
(Eq. 10 with the chi^2 regularizer); the official code is research-only licensed and not used."""

from __future__ import annotations

from typing import Literal

import torch
from tensordict import TensorDictBase

from lit_irl.algos.learner import TrainingConfig
from lit_irl.algos.off_policy import OffPolicyConfig, OffPolicyLearner
from lit_irl.algos.online import CollectionConfig
from lit_irl.data.modules import expert_transitions
from lit_irl.envs import EnvConfig
from lit_irl.errors import LitIRLError, check_positive
from lit_irl.policy import SACConfig, SACPolicy

IQLoss = Literal["value", "v0", "value_expert"]


def iq_critic_loss(
    q_expert: torch.Tensor, q_policy: torch.Tensor, v_expert: torch.Tensor, v_policy: torch.Tensor,
    target_expert: torch.Tensor, target_policy: torch.Tensor, gamma: float, loss: IQLoss, chi2_weight: float,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The IQ-Learn critic loss (to minimize), ``-J(pi, Q)`` of Eq. 10 with ``phi(x) = x - chi2_weight x^2``:

    ``-mean_E[r_Q] + T2 + chi2_weight mean_{E u P}[r_Q^2]``, with ``r_Q = Q(s, a) - y`` the implied
    reward, ``y = gamma (1 - done) V'(s')`` the (target) soft value of the next state (``target_*``,
    already masked), and ``V(s) = Q(s, a~pi) - alpha log pi`` (``v_*``); ``T2``, the value term, is

    - ``value``: ``mean_{E u P}[V(s) - y]`` (online, the paper's Eq. 10 on replayed states);
    - ``v0``: ``(1 - gamma) mean_E[V(s)]`` (over expert states, not initial states only);
    - ``value_expert``: ``mean_E[V(s) - y]`` (offline).

    ``chi2_weight = 1 / (4 alpha_chi)``; the chi^2 term covers expert and policy rows (online).
    """
    reward_expert, reward_policy = q_expert - target_expert, q_policy - target_policy
    if loss == "value":
        value_term = torch.cat([v_expert - target_expert, v_policy - target_policy]).mean()
    elif loss == "v0":
        value_term = (1 - gamma) * v_expert.mean()
    elif loss == "value_expert":
        value_term = (v_expert - target_expert).mean()
    else:
        raise LitIRLError(f"IQ-Learn loss must be value, v0 or value_expert, got {loss!r}")
    chi2 = chi2_weight * torch.cat([reward_expert, reward_policy]).pow(2).mean()
    total = -reward_expert.mean() + value_term + chi2
    return total, {"iq/loss": total.detach(), "iq/expert_reward": reward_expert.mean().detach(),
                   "iq/policy_reward": reward_policy.mean().detach(), "iq/chi2": chi2.detach()}  # fmt: skip


class IQLearn(OffPolicyLearner):
    """Online IQ-Learn on the shared SAC networks: a soft Q-function whose implied reward
    ``Q(s, a) - gamma V(s')`` is high on expert data (:func:`iq_critic_loss`), and SAC's actor on it.

    Per ``training_step``: one collection batch, then per env step (``off_policy.utd_ratio``): a
    critic step on ``sac.batch_size`` expert plus as many replayed agent transitions, an actor step on
    both batches' states (plain SAC loss at the fixed temperature ``sac.init_alpha``, per env:
    0.01 Hopper / HalfCheetah / Walker2d, 1e-3 Ant, 1 Humanoid), the target critic's Polyak step.

    Deviation: the twin critics of the shared SAC step are both trained on the loss and ``V`` uses
    their minimum (the official code overrides its double-Q critic by a single one for MuJoCo).
    The recovered reward ``Q(s, a) - gamma V^pi(s')`` needs the policy and ``s'``; it is not a
    ``reward_from`` reward.

    Args:
        env: environment and termination policy.
        demonstrations: expert file; ``num_expert_trajectories`` of its first episodes.
        loss: ``value`` (default online), ``v0`` or ``value_expert``.
        chi2_alpha: alpha_chi of the chi^2 regularizer (weight ``1 / (4 alpha_chi)``; 0.5 in the paper).
        sac: networks, step sizes (actor 3e-5, critic 3e-4 in the paper), fixed temperature, batch.
        training, collection, off_policy: the budget and the data stream.
    """

    def __init__(
        self,
        env: EnvConfig,
        demonstrations: str,
        num_expert_trajectories: int = 1,
        loss: IQLoss = "value",
        chi2_alpha: float = 0.5,
        sac: SACConfig = SACConfig(actor_lr=3e-5, critic_lr=3e-4, init_alpha=0.01, learn_alpha=False),  # never mutated
        training: TrainingConfig = TrainingConfig(log_every=5_000),
        collection: CollectionConfig = CollectionConfig(env_steps_per_batch=50),
        off_policy: OffPolicyConfig = OffPolicyConfig(warmup_steps=1_280),
    ) -> None:
        super().__init__(env, training, collection, off_policy)
        if loss not in ("value", "v0", "value_expert"):
            raise LitIRLError(f"IQ-Learn loss must be value, v0 or value_expert, got {loss!r}")
        check_positive(num_expert_trajectories=num_expert_trajectories, chi2_alpha=chi2_alpha)
        if sac.learn_alpha:
            raise LitIRLError("IQ-Learn needs a fixed temperature (sac.learn_alpha: false; a learned one diverges, IQ-Learn issue #5)")
        self.save_hyperparameters()
        self.loss, self.chi2_weight = loss, 1.0 / (4.0 * chi2_alpha)
        spec = self.env_spec
        self.policy = SACPolicy(spec.obs_dim, spec.act_dim, spec.action_low, spec.action_high, sac)
        self.actor = self.policy.actor
        self.demonstration_data, self.expert = expert_transitions(demonstrations, env, num_expert_trajectories)

    def configure_optimizers(self):
        return self.policy.make_optimizers()

    def soft_values(self, batch: TensorDictBase, value_rows: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``Q(s, a)`` per critic ``(2, B)``, the masked target ``y`` and ``V(s)`` (gradient into the critics only) of
        the first ``value_rows`` rows: the expert rows come first, and ``v0`` / ``value_expert`` need no agent ``V``."""
        policy = self.policy
        with torch.no_grad():
            # One actor pass for V(s) and V'(s'), one critic pass below: fewer, larger kernels (measured in tools/bench_throughput.py).
            actions, log_probs = self.actor(torch.cat([batch["obs"][:value_rows], batch["next_obs"]]))
            action, log_prob, next_action, next_log_prob = actions[:value_rows], log_probs[:value_rows], actions[value_rows:], log_probs[value_rows:]
            next_q = policy.critic_target(torch.cat([batch["next_obs"], next_action], -1)).min(0).values.squeeze(-1)
            target = policy.config.gamma * (~batch["terminated"].bool()).float() * (next_q - policy.alpha * next_log_prob)
        # Q(s, a) and Q(s, a~pi) in one critic pass.
        obs = batch["obs"]
        q_both = policy.critic(torch.cat([torch.cat([obs, batch["action"]], -1), torch.cat([obs[:value_rows], action], -1)])).squeeze(-1)
        q, q_pi = q_both[:, : obs.shape[0]], q_both[:, obs.shape[0] :]
        return q, q_pi.min(0).values - policy.alpha * log_prob, target

    def update(self, optimizers: list) -> dict[str, torch.Tensor]:
        critic_optimizer, actor_optimizer = optimizers
        size = self.policy.config.batch_size
        expert = self.expert[torch.randint(0, self.expert.shape[0], (size,))].to(self.device)
        agent = self.replay.sample(size).to(self.device)
        keys = ("obs", "action", "next_obs", "terminated")
        both = torch.cat([expert.select(*keys), agent.select(*keys)])  # expert rows first: one pass over 2 x batch rows
        q, value, target = self.soft_values(both, value_rows=size if self.loss in ("v0", "value_expert") else 2 * size)
        losses = [iq_critic_loss(q[k, :size], q[k, size:], value[:size], value[size:], target[:size], target[size:], self.policy.config.gamma,
                                 self.loss, self.chi2_weight) for k in range(q.shape[0])]  # fmt: skip
        critic_loss, stats = sum(loss for loss, _ in losses), losses[0][1]
        self.optimizer_step(critic_loss, critic_optimizer, name="loss/critic")
        actor_loss, _, actor_stats = self.policy.actor_loss(both["obs"])
        self.optimizer_step(actor_loss, actor_optimizer, name="loss/actor")
        self.policy.update_target()
        self.policy.updates += 1
        return {**stats, **actor_stats}

    def training_step(self, batch: int, batch_idx: int) -> None:
        optimizers = self.optimizers()
        self.collect_batch()
        stats: dict[str, torch.Tensor] = {}
        if self.learning_started:
            with self.timed("sac_updates"):
                for _ in range(self.updates_per_batch):
                    stats = self.update(optimizers)
        self.end_step(stats)
