"""Policy steps on a sequence reward, shared by the RLHF policy stage (:class:`~lit_irl.sequence.rlhf.PPO`)
and the alternating learners (:class:`~lit_irl.sequence.IRL`, :class:`~lit_irl.sequence.AIHF`, key
``policy_update``):

- ``rloo``: REINFORCE with the leave-one-out baseline over ``k`` samples per prompt, the sequence-level KL
  to the reference in the reward (cheap: no critic);
- ``ppo``: token-level PPO (thesis Alg. 7; defaults of thesis Table 5.6 and the authors' "N+ details"
  code): the per-token KL to the reference in the per-token reward, the sequence reward at the last
  token, GAE, whitened advantages, clipped ratio and clipped value loss, a critic initialised from the
  reward model;
- ``best_of_n``: Best-of-N distillation (RAFT): the highest-reward response of ``n`` samples per prompt
  is a cross-entropy target (the KL is bounded by the choice itself: ``log n - (n - 1) / n`` per step).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

from lit_irl.errors import LitIRLError, check_positive
from lit_irl.policy.ppo import clipped_policy_loss, clipped_value_loss, generalized_advantages
from lit_irl.sequence.model import CausalPolicy

SequenceReward = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (prompts, responses) -> (n,)
POLICY_UPDATES = ("rloo", "ppo", "best_of_n")


def rloo_loss(log_probs: torch.Tensor, rewards: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """REINFORCE with the leave-one-out baseline (RLOO, Ahmadian et al. 2024) over ``k`` samples per prompt:
    ``log_probs`` and ``rewards`` ``(n, k)``; advantage ``r_i - mean_{j != i} r_j``; loss ``-mean A log pi``."""
    k = rewards.shape[-1]
    if k < 2:
        raise LitIRLError("RLOO needs at least 2 samples per prompt")
    advantages = rewards - (rewards.sum(-1, keepdim=True) - rewards) / (k - 1)
    return -(advantages.detach() * log_probs).mean(), advantages


def token_advantages(rewards: torch.Tensor, values: torch.Tensor, gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE over response tokens: ``rewards`` and ``values`` ``(B, H)`` (``values[:, h]`` the value before
    token ``h``); the response ends after ``H`` (no bootstrap). The MuJoCo PPO's
    :func:`~lit_irl.policy.ppo.generalized_advantages` with tokens as time and the last one terminal.
    Returns (advantages, returns = A + V)."""
    next_values = torch.cat([values[:, 1:], torch.zeros_like(values[:, :1])], -1)
    end = torch.zeros_like(rewards, dtype=torch.bool)
    end[:, -1] = True
    advantages, returns = generalized_advantages(rewards.T, values.T, next_values.T, end.T, end.T, gamma, lam)
    return advantages.T, returns.T


def best_of_n(
    policy: CausalPolicy, prompts: torch.Tensor, horizon: int, n: int, reward: SequenceReward, generator: torch.Generator
) -> torch.Tensor:
    """For each prompt the highest-``reward`` response of ``n`` samples of ``policy``: ``(B, horizon)``."""
    if n < 2:
        raise LitIRLError(f"best_of_n needs n >= 2 samples per prompt, got {n}")
    repeated = prompts.repeat_interleave(n, 0)
    responses = policy.sample(repeated, horizon, generator)
    with torch.no_grad():
        scores = reward(repeated, responses).view(-1, n)
    return responses.view(-1, n, horizon)[torch.arange(prompts.shape[0]), scores.argmax(-1)]


@dataclass
class PPOConfig:
    """Token-level PPO (defaults: thesis Table 5.6 / the authors' code, but one rollout batch of the
    learner's ``batch_size``).

    Attributes:
        gamma, lam: GAE over response tokens.
        epochs: passes over each rollout batch; ``minibatches``: gradient steps per pass.
        clip: ratio clip; ``value_clip``: value-prediction clip around the rollout's values.
        value_coef: weight of the value loss (the critic's own Adam, ``critic_lr``).
        whiten: normalise advantages per rollout batch.
    """

    gamma: float = 1.0
    lam: float = 0.95
    epochs: int = 4
    minibatches: int = 1
    clip: float = 0.2
    value_clip: float = 0.2
    value_coef: float = 0.1
    critic_lr: float = 1e-4
    whiten: bool = True

    def __post_init__(self) -> None:
        check_positive(epochs=self.epochs, minibatches=self.minibatches, clip=self.clip, value_clip=self.value_clip, critic_lr=self.critic_lr)
        if not (0 <= self.gamma <= 1 and 0 <= self.lam <= 1):
            raise LitIRLError(f"ppo.gamma and ppo.lam must lie in [0, 1], got {self.gamma} and {self.lam}")
        if self.value_coef < 0:
            raise LitIRLError(f"ppo.value_coef must be >= 0, got {self.value_coef}")


def token_values(critic: CausalPolicy, prompts: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
    """``V`` before each response token ``(B, H)``: the critic's value head at the position that predicts it."""
    tokens = torch.cat([prompts, responses], -1)[:, :-1]
    return critic.value_head(critic.features(tokens)).squeeze(-1)[:, prompts.shape[-1] - 1 :]


class TokenPPO:
    """Token-level PPO on a sequence reward (see the module docstring). One :meth:`step` is one gradient
    step; a rollout batch is drawn when the previous one has had its ``epochs x minibatches`` steps. The
    rollout in flight is part of the run state (:meth:`state`), so a resumed run continues exactly."""

    def __init__(self, config: PPOConfig, beta: float) -> None:
        check_positive(beta=beta)
        self.config, self.beta = config, beta
        self.rollout: dict[str, torch.Tensor] | None = None
        self.updates = 0

    @property
    def updates_per_rollout(self) -> int:
        return self.config.epochs * self.config.minibatches

    @torch.no_grad()
    def collect(self, policy: CausalPolicy, reference: CausalPolicy, critic: CausalPolicy, prompts: torch.Tensor,
                horizon: int, reward: SequenceReward, generator: torch.Generator) -> dict[str, torch.Tensor]:  # fmt: skip
        c = self.config
        responses = policy.sample(prompts, horizon, generator)
        log_probs = policy.response_log_probs(prompts, responses)
        kl = log_probs - reference.response_log_probs(prompts, responses)
        score = reward(prompts, responses)
        token_rewards = -self.beta * kl
        token_rewards[:, -1] += score
        values = token_values(critic, prompts, responses)
        advantages, returns = token_advantages(token_rewards, values, c.gamma, c.lam)
        if c.whiten:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        order = torch.stack([torch.randperm(prompts.shape[0], generator=generator) for _ in range(c.epochs)])
        self.rollout = {"prompts": prompts, "responses": responses, "log_probs": log_probs, "values": values, "advantages": advantages,
                        "returns": returns, "order": order, "score": score, "kl": kl.sum(-1)}  # fmt: skip
        self.updates = 0
        return self.rollout

    def loss(self, policy: CausalPolicy, critic: CausalPolicy) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The clipped objective on the next minibatch of the rollout in flight."""
        c, data = self.config, self.rollout
        assert data is not None
        epoch, part = divmod(self.updates, c.minibatches)
        rows = data["order"][epoch].chunk(c.minibatches)[part]
        prompts, responses = data["prompts"][rows], data["responses"][rows]
        advantages, old_values, returns = data["advantages"][rows], data["values"][rows], data["returns"][rows]
        log_ratio = policy.response_log_probs(prompts, responses) - data["log_probs"][rows]
        policy_loss = clipped_policy_loss(log_ratio, advantages, c.clip)
        value_loss = clipped_value_loss(token_values(critic, prompts, responses), old_values, returns, c.value_clip)
        stats = {"ppo/policy_loss": policy_loss.detach(), "ppo/value_loss": value_loss.detach(),
                 "ppo/clip_fraction": ((log_ratio.detach().exp() - 1).abs() > c.clip).float().mean()}  # fmt: skip
        return policy_loss + c.value_coef * value_loss, stats

    def state(self) -> dict[str, Any]:
        return {"rollout": self.rollout, "updates": self.updates}

    def load_state(self, state: dict[str, Any]) -> None:
        self.rollout, self.updates = state["rollout"], state["updates"]


class PolicyUpdate:
    """The policy step of a sequence learner (``method`` one of :data:`POLICY_UPDATES`), one gradient step
    per :meth:`step`, on ``reward(prompts, responses)`` with a KL penalty ``beta`` to ``learner.reference``.
    The learner owns the parameter sets (policy, reference, and ``critic`` for ``ppo``) and the optimizers."""

    def __init__(self, method: str, beta: float, rloo_samples: int = 4, best_of: int = 8, ppo: PPOConfig = PPOConfig()) -> None:  # never mutated
        if method not in POLICY_UPDATES:
            raise LitIRLError(f"policy_update must be one of {', '.join(POLICY_UPDATES)}, got {method!r}")
        check_positive(beta=beta)
        if rloo_samples < 2:
            raise LitIRLError(f"rloo_samples must be >= 2 (the leave-one-out baseline), got {rloo_samples}")
        if best_of < 2:
            raise LitIRLError(f"best_of must be >= 2 samples per prompt, got {best_of}")
        self.method, self.beta, self.rloo_samples, self.best_of = method, beta, rloo_samples, best_of
        self.ppo = TokenPPO(ppo, beta) if method == "ppo" else None

    def step(self, learner: Any, reward: SequenceReward, generator: torch.Generator, optimizers: list[Any]) -> dict[str, torch.Tensor]:
        """One gradient step of ``learner.policy`` (and ``learner.critic`` for ``ppo``; ``optimizers`` in that order)."""
        policy, reference, horizon = learner.policy, learner.reference, learner.world.config.horizon
        if self.method == "ppo":
            assert self.ppo is not None
            if self.ppo.rollout is None or self.ppo.updates >= self.ppo.updates_per_rollout:
                prompts = learner.world.sample_prompts(learner.batch_size, generator).to(learner.device)
                self.ppo.collect(policy, reference, learner.critic, prompts, horizon, reward, generator)
            loss, stats = self.ppo.loss(policy, learner.critic)
            learner.optimizer_step(loss, *optimizers, name="loss/policy")
            self.ppo.updates += 1
            rollout = self.ppo.rollout
            return {**stats, "policy/reward": rollout["score"].mean(), "policy/kl_to_reference": rollout["kl"].mean()}
        if self.method == "best_of_n":
            prompts = learner.world.sample_prompts(learner.batch_size, generator).to(learner.device)
            chosen = best_of_n(policy, prompts, horizon, self.best_of, reward, generator)
            loss = -policy.sequence_log_prob(prompts, chosen).mean() / horizon
            learner.optimizer_step(loss, optimizers[0], name="loss/policy")
            with torch.no_grad():
                return {"policy/reward_of_best": reward(prompts, chosen).mean()}
        prompts = learner.world.sample_prompts(learner.batch_size, generator).repeat_interleave(self.rloo_samples, 0).to(learner.device)
        responses = policy.sample(prompts, horizon, generator)
        log_probs = policy.sequence_log_prob(prompts, responses)
        with torch.no_grad():
            kl = log_probs.detach() - reference.sequence_log_prob(prompts, responses)
            score = reward(prompts, responses)
        loss, _ = rloo_loss(log_probs.view(-1, self.rloo_samples), (score - self.beta * kl).view(-1, self.rloo_samples))
        learner.optimizer_step(loss, optimizers[0], name="loss/policy")
        return {"policy/reward": score.mean(), "policy/kl_to_reference": kl.mean()}

    def restart(self) -> None:
        """Drop the rollout in flight (its rewards came from a reward that has since changed)."""
        if self.ppo is not None:
            self.ppo.rollout = None

    def state(self) -> dict[str, Any]:
        return self.ppo.state() if self.ppo is not None else {}

    def load_state(self, state: dict[str, Any]) -> None:
        if self.ppo is not None and state:
            self.ppo.load_state(state)
