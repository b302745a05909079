"""CLARE (Yue et al. 2023): conservative model-based reward learning, offline, on the shared world model."""

from __future__ import annotations

import torch
from tensordict import TensorDict

from lit_irl.algos.learner import TrainingConfig
from lit_irl.algos.mopo import MOPO, MOPOConfig
from lit_irl.data.modules import expert_transitions
from lit_irl.envs import EnvConfig
from lit_irl.errors import LitIRLError, check_positive
from lit_irl.models.penalties import uncertainty_penalty
from lit_irl.policy import SACConfig
from lit_irl.rewards import RewardConfig, RewardModel, refuse_scale_penalty

CLARE_REWARD = RewardConfig(inputs="sa", hidden=[256, 256, 256, 256], activation="silu", clamp=None, lr=5e-5, weight_decay=1e-5)


def clare_weights(uncertainty: torch.Tensor, is_expert: torch.Tensor, threshold: float) -> torch.Tensor:
    """CLARE's per-sample weights over D u D_E from the normalized uncertainty ``u`` (``<= 1``):
    diverse (non-expert) rows with ``u < threshold``: ``(N_all / N_E) N_large / N_small``; expert rows
    with ``u > threshold``: ``-N_all / N_E``; every other row 0. ``N_large``: expert rows with ``u >
    threshold``; ``N_small``: rows (of either kind) with ``u < threshold``."""
    n_all, n_expert = float(uncertainty.numel()), float(is_expert.sum())
    low, expert_high = uncertainty < threshold, is_expert & (uncertainty > threshold)
    n_large, n_small = float(expert_high.sum()), float(low.sum())
    weights = torch.zeros_like(uncertainty)
    if n_small > 0:
        weights[low & ~is_expert] = (n_all / n_expert) * n_large / n_small
    weights[expert_high] = -n_all / n_expert
    return weights


def clare_reward_loss(
    model_rewards: torch.Tensor, data_rewards: torch.Tensor, data_weights: torch.Tensor, expert_rewards: torch.Tensor, mean_weight: float,
    regularizer_weight: float,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``z E_model[r] - E_{D u D_E}[w r] - E_{D_E}[r] + lambda z E_{model u data}[r^2]``, ``z = 1 + mean(w)``."""
    z = 1.0 + mean_weight
    squares = torch.cat([model_rewards, data_rewards]).pow(2).mean()
    loss = z * model_rewards.mean() - (data_weights * data_rewards).mean() - expert_rewards.mean() + regularizer_weight * z * squares
    return loss, {"reward/loss": loss.detach(), "reward/model_mean": model_rewards.mean().detach(),
                  "reward/expert_mean": expert_rewards.mean().detach(), "reward/data_mean": data_rewards.mean().detach()}  # fmt: skip


class CLARE(MOPO):
    """CLARE on the shared parts: SAC on model rollouts only (``mopo.real_ratio: 0``), started from
    expert states, rewarded by a learned ``r(s, a)``; every ``reward_every`` gradient steps,
    ``reward_steps`` Adam steps on :func:`clare_reward_loss` over ``reward_batch`` rows of the model
    buffer, of D u D_E (weighted by :func:`clare_weights` of the world model's max-aleatoric
    uncertainty, normalized by its maximum over D u D_E) and of D_E. The actor loss adds
    ``bc_weight`` x ``-log pi(a_E | s_E)``.

    Not carried over from the official code: its critic target ``r + done gamma V'`` (no bootstrap on
    model data; ours is SAC's ``(1 - done)``), and its loader's removal of transitions with an action
    component at exactly +-1. Its world model is trained on D u D_E; ours is the world model given
    (train it on the dataset, or on the dataset with the demonstrations appended).

    Args:
        env, dataset, world_model: as :class:`MOPO` (the world model needs no reward head).
        demonstrations, num_expert_trajectories: D_E.
        reward: ``r(s, a)`` (official: 4 x 256 SiLU, no clamp, Adam 5e-5, weight decay 1e-5).
        uncertainty_threshold: ``u`` (official 0.5; 0.1 for halfcheetah-medium*).
        bc_weight: the actor's BC weight (official ``regularization_weight`` 0.25).
        regularizer_weight: lambda of the reward's squared term (official 1).
        reward_batch, reward_steps, reward_every: the reward update (official 5000 rows, 5 steps per outer iteration).
        mopo: rollouts (official: horizon 5, 5000 starts, penalty off) and the real/model mix (0: model only).
        sac, training: the SAC step and the budget (gradient steps).
    """

    uses_dataset_reward = False

    def __init__(
        self,
        env: EnvConfig,
        dataset: str,
        world_model: str,
        demonstrations: str,
        num_expert_trajectories: int = 5,
        reward: RewardConfig = CLARE_REWARD,  # never mutated
        uncertainty_threshold: float = 0.5,
        bc_weight: float = 0.25,
        regularizer_weight: float = 1.0,
        reward_batch: int = 5000,
        reward_steps: int = 5,
        reward_every: int = 1000,
        mopo: MOPOConfig = MOPOConfig(rollout_length=5, penalty_coef=0.0, real_ratio=0.0, rollout_batch=5000),  # never mutated
        sac: SACConfig = SACConfig(activation="silu"),  # never mutated
        training: TrainingConfig = TrainingConfig(total_steps=200_000, log_every=1_000),
    ) -> None:
        check_positive(num_expert_trajectories=num_expert_trajectories, reward_batch=reward_batch, reward_steps=reward_steps, reward_every=reward_every)
        if not 0 < uncertainty_threshold <= 1:
            raise LitIRLError(f"uncertainty_threshold (on the uncertainty normalized by its maximum) must be in (0, 1], got {uncertainty_threshold}")
        if bc_weight < 0 or regularizer_weight < 0:
            raise LitIRLError("bc_weight and regularizer_weight must be >= 0")
        super().__init__(env, dataset, world_model, mopo=mopo, sac=sac, training=training)
        self.save_hyperparameters()
        self.bc_weight, self.regularizer_weight = bc_weight, regularizer_weight
        self.reward_batch, self.reward_steps_per_update, self.reward_every = reward_batch, reward_steps, reward_every
        spec = self.env_spec
        refuse_scale_penalty(reward, "CLARE")
        self.reward = RewardModel(spec.obs_dim, spec.act_dim, reward)
        self.register_buffer("reward_updates", torch.zeros((), dtype=torch.long))
        self.demonstration_data, expert = expert_transitions(demonstrations, env, num_expert_trajectories)
        self.expert = {key: expert[key] for key in ("obs", "action")}
        # D u D_E with the weights of the normalized uncertainty (fixed: the world model is frozen).
        self.data = {key: torch.cat([self.real[key], self.expert[key]]) for key in ("obs", "action")}
        is_expert = torch.cat([torch.zeros(self.real["obs"].shape[0], dtype=torch.bool), torch.ones(self.expert["obs"].shape[0], dtype=torch.bool)])
        uncertainty = self.uncertainty(self.data["obs"], self.data["action"])
        self.data["weight"] = clare_weights(uncertainty / uncertainty.max().clamp_min(1e-12), is_expert, uncertainty_threshold)
        self.mean_weight = float(self.data["weight"].mean())

    @torch.no_grad()
    def uncertainty(self, obs: torch.Tensor, action: torch.Tensor, chunk: int = 65_536) -> torch.Tensor:
        """``max_i ||sigma_i(s, a)||`` of the world model, in chunks."""
        parts = []
        for start in range(0, obs.shape[0], chunk):
            mean, logvar = self.world_model(obs[start : start + chunk], action[start : start + chunk])
            parts.append(uncertainty_penalty("max_aleatoric", mean, logvar, self.env_spec.obs_dim))
        return torch.cat(parts)

    def configure_optimizers(self):
        return [*self.policy.make_optimizers(), self.reward.make_optimizer()]

    def rollout_start_pool(self) -> torch.Tensor:
        return self.expert["obs"]

    def reward_of(self, batch: TensorDict, real: bool) -> torch.Tensor:
        with torch.no_grad():
            return self.reward(batch)

    def actor_regularizer(self) -> torch.Tensor:
        expert = self.sample(self.expert, self.policy.config.batch_size)
        return -self.bc_weight * self.actor.log_prob(expert["obs"], expert["action"]).mean()

    def reward_update(self, optimizer) -> dict[str, torch.Tensor]:
        stats: dict[str, torch.Tensor] = {}
        for _ in range(self.reward_steps_per_update):
            model = self.model_buffer.sample(self.reward_batch).to(self.device)
            data = TensorDict(self.sample(self.data, self.reward_batch), batch_size=[self.reward_batch])
            expert = TensorDict(self.sample(self.expert, self.reward_batch), batch_size=[self.reward_batch])
            loss, stats = clare_reward_loss(self.reward(model), self.reward(data), data["weight"], self.reward(expert), self.mean_weight, self.regularizer_weight)
            self.optimizer_step(loss, optimizer, name="reward/loss")
        self.reward_updates += 1
        return {**stats, "counters/reward_updates": self.reward_updates}

    def training_step(self, batch: int, batch_idx: int) -> None:
        *policy_optimizers, reward_optimizer = self.optimizers()
        steps = self.gradient_steps_this_batch()
        stats: dict[str, torch.Tensor] = {}
        for step in range(self.progress, self.progress + steps):
            # Policy: SAC on model rollouts from expert states under r, plus BC on the expert's actions.
            self.policy_step(step, policy_optimizers, stats)
            # Reward: conservative, weighted by the model's uncertainty.
            if (step + 1) % self.reward_every == 0:
                with self.timed("reward_step"):
                    stats.update(self.reward_update(reward_optimizer))
        self.end_step(stats, steps)
