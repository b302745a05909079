"""Soft actor-critic policy step (Haarnoja et al. 2018, with learned temperature as in SAC v2).

The rewards are an argument of :meth:`SACPolicy.update`, never read from the batch: SAC on the
env reward passes ``batch["true_reward"]``; IRL passes its learned ``r_theta(batch)``. That keeps
the learner blind to the env reward by construction when an algorithm chooses so.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from tensordict import TensorDictBase
from torch import nn

from lit_irl.errors import LitIRLError, check_fraction, check_positive
from lit_irl.nn import Activation, EnsembleMLP, TanhGaussianActor, activation


@dataclass
class SACConfig:
    """Hyperparameters of the SAC policy step.

    Attributes:
        actor_hidden: hidden layer sizes of the actor MLP.
        critic_hidden: hidden layer sizes of each of the twin Q MLPs.
        activation: activation between hidden layers (relu, tanh, silu, elu).
        actor_lr: Adam step size of the actor.
        critic_lr: Adam step size of the twin critics.
        alpha_lr: Adam step size of log(alpha) when ``learn_alpha``.
        gamma: discount factor of the soft Bellman target.
        tau: Polyak rate of the target critics (``target <- (1 - tau) target + tau critic``).
        init_alpha: initial entropy temperature (the fixed value when ``learn_alpha`` is false).
        learn_alpha: tune alpha towards ``target_entropy`` (SAC v2) or keep it fixed.
        target_entropy: entropy target; ``None`` means ``-action_dim``.
        batch_size: transitions per update.
        actor_update_every: update actor and alpha every k critic updates (1 = every update).
        kl_coef: weight of ``KL(pi || pi_ref)`` to a reference policy (the learner's
            ``reference_from``), charged in the soft Bellman target and the actor loss as
            ``kl_coef (log pi(a|s) - log pi_ref(a|s))`` (0: none; RLHF's KL to the SFT/BC policy).
        critic_warmup_updates: the first k updates train the critics only and hold the actor and the
            temperature: a fresh critic first evaluates a given actor (``init_from``: continuing a zoo
            expert, fine-tuning BC) instead of steering it with random values (0: none).
    """

    actor_hidden: list[int] = field(default_factory=lambda: [256, 256])
    critic_hidden: list[int] = field(default_factory=lambda: [256, 256])
    activation: Activation = "relu"
    actor_lr: float = 3e-4
    critic_lr: float = 3e-4
    alpha_lr: float = 3e-4
    gamma: float = 0.99
    tau: float = 0.005
    init_alpha: float = 1.0
    learn_alpha: bool = True
    target_entropy: float | None = None
    batch_size: int = 256
    actor_update_every: int = 1
    kl_coef: float = 0.0
    critic_warmup_updates: int = 0

    def __post_init__(self) -> None:
        for name in ("actor_hidden", "critic_hidden"):
            if not getattr(self, name):
                raise LitIRLError(f"{name} is empty; give at least one hidden layer size, e.g. [256, 256]")
        check_positive(
            actor_hidden=self.actor_hidden,
            critic_hidden=self.critic_hidden,
            actor_lr=self.actor_lr,
            critic_lr=self.critic_lr,
            alpha_lr=self.alpha_lr,
            init_alpha=self.init_alpha,
            batch_size=self.batch_size,
            actor_update_every=self.actor_update_every,
        )
        check_fraction(gamma=self.gamma, tau=self.tau)
        if self.kl_coef < 0:
            raise LitIRLError(f"kl_coef must be >= 0, got {self.kl_coef}")
        if self.critic_warmup_updates < 0:
            raise LitIRLError(f"critic_warmup_updates must be >= 0, got {self.critic_warmup_updates}")
        activation(self.activation)


@contextlib.contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """Let gradients flow *through* ``module`` to its inputs without computing its weight gradients."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


class OptimizerStep(Protocol):
    def __call__(self, loss: torch.Tensor, *optimizers: Any, name: str = "loss", max_grad_norm: float | None = None) -> bool: ...


def plain_step(loss: torch.Tensor, *optimizers: Any, name: str = "loss", max_grad_norm: float | None = None) -> bool:
    """zero_grad, backward, (clip), step: the optimizer step outside Lightning (tests, benchmarks)."""
    for optimizer in optimizers:
        optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if max_grad_norm is not None:
        params = [p for optimizer in optimizers for group in optimizer.param_groups for p in group["params"]]
        torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
    for optimizer in optimizers:
        optimizer.step()
    return True


def _adam(params: list[nn.Parameter], lr: float) -> torch.optim.Adam:
    # fused Adam is ~2x faster than the default per-parameter loop on CPU at these sizes (measured in
    # tools/bench_throughput.py); it exists for CPU and CUDA tensors alike.
    return torch.optim.Adam(params, lr=lr, fused=True)


class SACPolicy(nn.Module):
    """Actor, twin critics (one batched ensemble), target critics and the entropy temperature."""

    def __init__(
        self, obs_dim: int, act_dim: int, action_low: torch.Tensor, action_high: torch.Tensor, config: SACConfig,
        actor: TanhGaussianActor | None = None, reference: nn.Module | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.config = config
        self.actor = actor if actor is not None else TanhGaussianActor(obs_dim, act_dim, config.actor_hidden, action_low, action_high, config.activation)
        if config.kl_coef > 0 and reference is None:
            raise LitIRLError("sac.kl_coef > 0 needs a reference policy (the learner's reference_from or init_from)")
        self.reference = reference.requires_grad_(False) if reference is not None and config.kl_coef > 0 else None
        self.critic = EnsembleMLP(2, obs_dim + act_dim, config.critic_hidden, 1, config.activation)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.log_alpha = nn.Parameter(torch.tensor(float(config.init_alpha)).log(), requires_grad=config.learn_alpha)
        self.target_entropy = float(-act_dim if config.target_entropy is None else config.target_entropy)
        self.register_buffer("updates", torch.zeros((), dtype=torch.long))

    @property
    def alpha(self) -> torch.Tensor:
        return self.log_alpha.detach().exp()

    def make_optimizers(self) -> list[torch.optim.Optimizer]:
        """Critic, actor and (if learned) temperature optimizers, in the order :meth:`update` expects."""
        optimizers = [_adam(list(self.critic.parameters()), self.config.critic_lr), _adam(list(self.actor.parameters()), self.config.actor_lr)]
        if self.config.learn_alpha:
            optimizers.append(_adam([self.log_alpha], self.config.alpha_lr))
        return optimizers

    # ---- losses: pure functions of a batch, returning (loss, stats) ----
    def critic_loss(self, batch: TensorDictBase, reward: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        obs, action, next_obs = batch["obs"], batch["action"], batch["next_obs"]
        if reward.shape != (obs.shape[0],):
            raise ValueError(f"reward must have shape ({obs.shape[0]},), got {tuple(reward.shape)}")
        with torch.no_grad():
            next_action, next_log_prob = self.actor(next_obs)
            next_q = self.critic_target(torch.cat([next_obs, next_action], -1)).min(0).values.squeeze(-1)
            soft_value = next_q - self.alpha * next_log_prob - self.kl_penalty(next_obs, next_action, next_log_prob)
            target = reward + self.config.gamma * (~batch["terminated"]).float() * soft_value
        q = self.critic(torch.cat([obs, action], -1)).squeeze(-1)  # (2, B)
        loss = (q - target).pow(2).mean(-1).sum()
        return loss, {"loss/critic": loss.detach(), "q/mean": q.detach().mean()}

    def actor_loss(
        self, obs: torch.Tensor, distribution: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """Actor loss ``E[alpha log pi - min Q]`` and temperature loss ``-log_alpha (log pi + H_target)``;
        ``distribution``: the actor's ``(mean, log_std)`` on ``obs`` when already computed (with gradient)."""
        action, log_prob = self.actor.sample(*(distribution if distribution is not None else self.actor.distribution(obs)))
        with frozen(self.critic):
            q = self.critic(torch.cat([obs, action], -1)).min(0).values.squeeze(-1)
        actor_loss = (self.alpha * log_prob + self.kl_penalty(obs, action, log_prob) - q).mean()
        alpha_loss = self.temperature_loss(log_prob)
        entropy = -log_prob.detach().mean()
        return actor_loss, alpha_loss, {"loss/actor": actor_loss.detach(), "loss/alpha": alpha_loss.detach(), "entropy": entropy}

    def temperature_loss(self, log_prob: torch.Tensor) -> torch.Tensor:
        """``-log_alpha (log pi + H_target)``: raises alpha while the entropy is below its target."""
        return -(self.log_alpha * (log_prob.detach() + self.target_entropy)).mean()

    def kl_penalty(self, obs: torch.Tensor, action: torch.Tensor, log_prob: torch.Tensor) -> torch.Tensor | float:
        """``kl_coef (log pi(a|s) - log pi_ref(a|s))`` at sampled actions: a one-sample estimate of the KL."""
        if self.reference is None:
            return 0.0
        return self.config.kl_coef * (log_prob - self.reference.log_prob(obs, action))

    # ---- the update: which losses, in which order ----
    def update(
        self, batch: TensorDictBase, reward: torch.Tensor | Callable[[torch.Tensor], torch.Tensor], optimizers: list,
        step: OptimizerStep = plain_step, actor_regularizer: Callable[[], torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """One SAC update on ``batch`` with the given per-transition ``reward`` (shape ``(B,)``), or
        ``reward(log_prob)`` of the current actor's ``log pi(a|s)`` at the batch's actions (AIRL's
        ``f - log pi``): the actor's pass over ``batch["obs"]`` then serves that reward and the actor
        loss both (the critic step leaves the actor as it is). ``actor_regularizer()``, when given, is
        added to the actor loss (e.g. CLARE's BC term).

        ``optimizers`` come from :meth:`make_optimizers` (possibly Lightning-wrapped); ``step`` is
        the learner's :meth:`~lit_irl.algos.learner.Learner.optimizer_step` inside Lightning
        (``manual_backward`` for DDP and precision, the NaN guard).
        """
        critic_opt, actor_opt, *alpha_opt = optimizers
        distribution = None
        if callable(reward):
            distribution = self.actor.distribution(batch["obs"])
            with torch.no_grad():
                reward = reward(self.actor.log_prob_under(*(part.detach() for part in distribution), batch["action"]))
        critic_loss, stats = self.critic_loss(batch, reward)
        step(critic_loss, critic_opt, name="loss/critic")

        # During the critic warm-up the temperature is held with the actor: against a held entropy it has
        # no equilibrium and drifts to 0 or up without bound (Walker2d-v5 from the zoo actor: alpha 0.1 ->
        # 3e-4 in 20k updates, then the released actor turned deterministic and fell from 4921 to 149).
        warming_up = int(self.updates) < self.config.critic_warmup_updates
        if not warming_up and int(self.updates) % self.config.actor_update_every == 0:
            actor_loss, alpha_loss, actor_stats = self.actor_loss(batch["obs"], distribution)
            if actor_regularizer is not None:
                regularizer = actor_regularizer()
                actor_loss = actor_loss + regularizer
                actor_stats["loss/actor_regularizer"] = regularizer.detach()
            stats.update(actor_stats)
            # The two losses touch disjoint parameters: one backward pass serves both.
            step(actor_loss + alpha_loss if alpha_opt else actor_loss, actor_opt, *alpha_opt, name="loss/actor")

        self.update_target()
        self.updates += 1
        stats["alpha"] = self.alpha
        return stats

    @torch.no_grad()
    def update_target(self) -> None:
        torch._foreach_lerp_(list(self.critic_target.parameters()), list(self.critic.parameters()), self.config.tau)
