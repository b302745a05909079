"""Proximal policy optimization policy step (Schulman et al. 2017): clipped surrogate, GAE(lambda),
a value network, observation / reward / advantage normalization, an entropy bonus and an optional
KL penalty to a reference policy (AIHF's beta, the RLHF pipeline's KL-to-BC).

The losses are pure functions of a minibatch (:func:`ppo_losses`); :class:`PPOPolicy.update` is
which minibatches, in which order. Defaults are the PPO paper's MuJoCo settings (Table 3) as
CleanRL's ``ppo_continuous_action.py`` runs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from tensordict import TensorDict
from torch import nn

from lit_irl.errors import LitIRLError, check_fraction, check_positive
from lit_irl.nn import Activation, GaussianActor, TanhGaussianActor, activation, mlp, orthogonal_init
from lit_irl.policy.sac import OptimizerStep, plain_step

REWARD_CLIP = 10.0  # normalized rewards are clipped (CleanRL / SB3 VecNormalize)


@dataclass
class PPOConfig:
    """Hyperparameters of the PPO policy step.

    Attributes:
        actor: ``gaussian`` (state-independent log-std, actions clipped by the env loop: the PPO
            paper's and CleanRL's) or ``tanh_gaussian`` (squashed; what SAC and BC checkpoints hold).
        actor_hidden: hidden sizes of the policy MLP.
        critic_hidden: hidden sizes of the value MLP.
        activation: between hidden layers.
        lr: Adam step size (Adam eps 1e-5), of actor and critic together.
        anneal_lr: decay the step size linearly to 0 over the budget.
        gamma: discount.
        gae_lambda: lambda of GAE.
        update_epochs: passes over each collected batch.
        minibatch_size: transitions per gradient step.
        clip_coef: epsilon of the clipped ratio (and of the value clipping).
        clip_value_loss: clip the value update around the old values (CleanRL's default).
        value_coef: weight of the value loss.
        entropy_coef: weight of the entropy bonus.
        kl_coef: weight of ``KL(pi || pi_ref)`` to ``reference_from`` (0: none).
        max_grad_norm: clip the global gradient norm (``null``: no clipping).
        normalize_obs: standardize observations with running statistics (kept in the actor).
        normalize_reward: divide rewards by the running std of the discounted return, clipped at +-10.
        normalize_advantages: standardize advantages per minibatch.
        init_log_std: initial log-std of the ``gaussian`` actor.
    """

    actor: Literal["gaussian", "tanh_gaussian"] = "gaussian"
    actor_hidden: list[int] = field(default_factory=lambda: [64, 64])
    critic_hidden: list[int] = field(default_factory=lambda: [64, 64])
    activation: Activation = "tanh"
    lr: float = 3e-4
    anneal_lr: bool = True
    gamma: float = 0.99
    gae_lambda: float = 0.95
    update_epochs: int = 10
    minibatch_size: int = 64
    clip_coef: float = 0.2
    clip_value_loss: bool = True
    value_coef: float = 0.5
    entropy_coef: float = 0.0
    kl_coef: float = 0.0
    max_grad_norm: float | None = 0.5
    normalize_obs: bool = True
    normalize_reward: bool = True
    normalize_advantages: bool = True
    init_log_std: float = 0.0

    def __post_init__(self) -> None:
        if self.actor not in ("gaussian", "tanh_gaussian"):
            raise LitIRLError(f"PPO actor must be gaussian or tanh_gaussian, got {self.actor!r}")
        check_positive(
            actor_hidden=self.actor_hidden, critic_hidden=self.critic_hidden, lr=self.lr, update_epochs=self.update_epochs,
            minibatch_size=self.minibatch_size, clip_coef=self.clip_coef,
        )
        check_fraction(gamma=self.gamma, gae_lambda=self.gae_lambda)
        for name in ("value_coef", "entropy_coef", "kl_coef"):
            if getattr(self, name) < 0:
                raise LitIRLError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.max_grad_norm is not None:
            check_positive(max_grad_norm=self.max_grad_norm)
        activation(self.activation)


def generalized_advantages(
    rewards: torch.Tensor, values: torch.Tensor, next_values: torch.Tensor, terminated: torch.Tensor, done: torch.Tensor, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE(lambda) over a ``(T, N)`` batch of N envs' streams; returns ``(advantages, returns)``.

    ``delta_t = r_t + gamma (1 - terminated_t) V(s'_t) - V(s_t)`` bootstraps from the recorded next
    state, so a time-limit end (done, not terminated) keeps its value while a fall does not; the
    recursion ``A_t = delta_t + gamma lambda (1 - done_t) A_{t+1}`` stops at every episode end.
    A NumPy loop over T: measured faster than the torch loop and TorchRL's
    ``generalized_advantage_estimate`` at these sizes (``tools/bench_throughput.py``).
    """
    r, v, nv = (x.detach().double().cpu().numpy() for x in (rewards, values, next_values))
    not_terminated, not_done = (1.0 - x.cpu().numpy().astype(np.float64) for x in (terminated, done))
    deltas = r + gamma * not_terminated * nv - v
    advantages = np.empty_like(deltas)
    running = np.zeros(deltas.shape[1:])
    carry = gamma * lam * not_done
    for t in range(deltas.shape[0] - 1, -1, -1):
        running = deltas[t] + carry[t] * running
        advantages[t] = running
    advantages_t = torch.from_numpy(advantages).to(device=values.device, dtype=values.dtype)
    return advantages_t, advantages_t + values


def clipped_policy_loss(log_ratio: torch.Tensor, advantage: torch.Tensor, clip: float) -> torch.Tensor:
    """PPO's clipped surrogate, to minimize: ``mean max(-A rho, -A clip(rho, 1 - clip, 1 + clip))``."""
    ratio = log_ratio.exp()
    return torch.max(-advantage * ratio, -advantage * ratio.clamp(1 - clip, 1 + clip)).mean()


def clipped_value_loss(value: torch.Tensor, old_value: torch.Tensor, returns: torch.Tensor, clip: float | None) -> torch.Tensor:
    """``0.5 mean max((V - R)^2, (V_clipped - R)^2)``, ``V_clipped`` within ``clip`` of the rollout's value
    (``clip`` None: the plain squared error)."""
    if clip is None:
        return 0.5 * (value - returns).pow(2).mean()
    clipped = old_value + (value - old_value).clamp(-clip, clip)
    return 0.5 * torch.max((value - returns).pow(2), (clipped - returns).pow(2)).mean()


def ppo_losses(
    actor: nn.Module,
    value: torch.Tensor,
    batch: TensorDict | dict[str, torch.Tensor],
    config: PPOConfig,
    reference: nn.Module | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The PPO loss of a minibatch (``obs``, ``action``, ``log_prob`` and ``value`` of the behaviour
    policy, ``advantage``, ``return``) given the critic's current ``value`` of its states."""
    log_prob = actor.log_prob(batch["obs"], batch["action"])
    log_ratio = log_prob - batch["log_prob"]
    ratio = log_ratio.exp()
    advantage = batch["advantage"]
    if config.normalize_advantages and advantage.numel() > 1:
        advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
    policy_loss = clipped_policy_loss(log_ratio, advantage, config.clip_coef)
    value_loss = clipped_value_loss(value, batch["value"], batch["return"], config.clip_coef if config.clip_value_loss else None)
    # Exact for the Gaussian actor; for the squashed one a reparameterized one-sample estimate.
    entropy = actor.entropy(batch["obs"]).mean() if hasattr(actor, "entropy") else -actor(batch["obs"])[1].mean()
    loss = policy_loss + config.value_coef * value_loss - config.entropy_coef * entropy
    with torch.no_grad():
        approx_kl = ((ratio - 1) - log_ratio).mean()  # Schulman's k3 estimator of KL(old || new)
        clip_fraction = ((ratio - 1).abs() > config.clip_coef).float().mean()
    stats = {
        "loss/policy": policy_loss.detach(),
        "loss/value": value_loss.detach(),
        "entropy": entropy.detach(),
        "ppo/approx_kl": approx_kl,
        "ppo/clip_fraction": clip_fraction,
    }
    if reference is not None and config.kl_coef > 0:
        sample, sample_log_prob = actor(batch["obs"])
        kl = (sample_log_prob - reference.log_prob(batch["obs"], sample)).mean()  # one-sample KL(pi || pi_ref)
        loss = loss + config.kl_coef * kl
        stats["ppo/kl_to_reference"] = kl.detach()
    return loss, stats


class RewardScaler(nn.Module):
    """Divides rewards by the running std of each env's discounted return (SB3's VecNormalize,
    CleanRL's NormalizeReward): the scale PPO's value targets and step sizes expect."""

    def __init__(self, num_envs: int, gamma: float) -> None:
        super().__init__()
        self.gamma = gamma
        self.register_buffer("discounted_return", torch.zeros(num_envs, dtype=torch.float64))
        self.register_buffer("mean", torch.zeros((), dtype=torch.float64))
        self.register_buffer("var", torch.ones((), dtype=torch.float64))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))

    @torch.no_grad()
    def __call__(self, rewards: torch.Tensor, done: torch.Tensor) -> torch.Tensor:
        """Scaled rewards of a ``(T, N)`` batch; updates the statistics with its returns first."""
        r, d = rewards.double().cpu().numpy(), done.cpu().numpy()
        running = self.discounted_return.numpy().copy()
        returns = np.empty_like(r)
        for t in range(r.shape[0]):
            running = running * self.gamma + r[t]
            returns[t] = running
            running = np.where(d[t], 0.0, running)
        self.discounted_return.copy_(torch.from_numpy(running))
        n, batch_mean, batch_var = returns.size, float(returns.mean()), float(returns.var())
        total = float(self.count) + n
        delta = batch_mean - float(self.mean)
        self.var.fill_((float(self.var) * float(self.count) + batch_var * n + delta**2 * float(self.count) * n / total) / total)
        self.mean.fill_(float(self.mean) + delta * n / total)
        self.count.fill_(total)
        return (rewards / torch.sqrt(self.var + 1e-8).to(rewards.dtype)).clamp(-REWARD_CLIP, REWARD_CLIP)


class PPOPolicy(nn.Module):
    """Actor, value network and their optimizer; :meth:`update` makes the epochs of one batch."""

    def __init__(self, obs_dim: int, act_dim: int, action_low: torch.Tensor, action_high: torch.Tensor, config: PPOConfig, actor: nn.Module | None = None) -> None:
        super().__init__()
        self.config = config
        if actor is None:
            if config.actor == "gaussian":
                actor = GaussianActor(obs_dim, act_dim, config.actor_hidden, action_low, action_high, config.activation, config.normalize_obs, config.init_log_std)
            else:
                actor = TanhGaussianActor(obs_dim, act_dim, config.actor_hidden, action_low, action_high, config.activation, config.normalize_obs)
        self.actor = actor
        self.critic = mlp(obs_dim, config.critic_hidden, 1, config.activation)
        orthogonal_init(self.critic, output_gain=1.0)
        self.register_buffer("updates", torch.zeros((), dtype=torch.long))

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        """V(s), on the actor's normalized observations when it normalizes (one set of statistics)."""
        normalizer = getattr(self.actor, "obs_normalizer", None)
        return self.critic(obs if normalizer is None else normalizer(obs)).squeeze(-1)

    def make_optimizer(self) -> torch.optim.Adam:
        # fused: about twice the speed of the per-parameter loop at these sizes (as for SAC)
        return torch.optim.Adam([*self.actor.parameters(), *self.critic.parameters()], lr=self.config.lr, eps=1e-5, fused=True)

    @torch.no_grad()
    def prepare(self, transitions: TensorDict, rewards: torch.Tensor) -> TensorDict:
        """The batch PPO trains on: behaviour log-probs and values, advantages and returns, flattened."""
        c = self.config
        values, next_values = self.value(transitions["obs"]), self.value(transitions["next_obs"])
        advantages, returns = generalized_advantages(
            rewards, values, next_values, transitions["terminated"], transitions["done"], c.gamma, c.gae_lambda
        )
        batch = TensorDict(
            {
                "obs": transitions["obs"],
                "action": transitions["action"],
                "log_prob": self.actor.log_prob(transitions["obs"], transitions["action"]),
                "value": values,
                "advantage": advantages,
                "return": returns,
            },
            batch_size=transitions.batch_size,
        )
        return batch.reshape(-1)

    def update(
        self, batch: TensorDict, optimizer, step: OptimizerStep = plain_step, reference: nn.Module | None = None
    ) -> dict[str, torch.Tensor]:
        """``update_epochs`` passes over ``batch`` in shuffled minibatches (the learner's random stream)."""
        c = self.config
        stats: dict[str, torch.Tensor] = {}
        n = batch.shape[0]
        # Plain tensors: indexing a TensorDict per minibatch costs as much as the minibatch's matmuls.
        columns = {key: batch[key] for key in batch.keys()}
        for _ in range(c.update_epochs):
            order = torch.randperm(n)
            for start in range(0, n, c.minibatch_size):
                index = order[start : start + c.minibatch_size]
                minibatch = {key: column.index_select(0, index) for key, column in columns.items()}
                loss, stats = ppo_losses(self.actor, self.value(minibatch["obs"]), minibatch, c, reference)
                step(loss, optimizer, name="loss/ppo", max_grad_norm=c.max_grad_norm)
                self.updates += 1
        return stats
