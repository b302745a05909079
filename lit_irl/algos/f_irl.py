"""f-IRL (Ni et al. 2020): inverse RL by state-marginal matching under an f-divergence (FKL, RKL, JS)."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from tensordict import TensorDict

from lit_irl.algos.learner import TrainingConfig
from lit_irl.algos.ml_irl import MLIRL
from lit_irl.algos.off_policy import OffPolicyConfig
from lit_irl.algos.online import CollectionConfig
from lit_irl.envs import EnvConfig
from lit_irl.errors import LitIRLError, check_positive
from lit_irl.policy import SACConfig
from lit_irl.rewards import RewardConfig, RewardModel, refuse_scale_penalty
from lit_irl.rewards.adversarial import discriminator_loss

Divergence = Literal["fkl", "rkl", "js"]
CLASSIFIER = RewardConfig(inputs="s", hidden=[128, 128], activation="tanh", clamp=10.0, lr=3e-4, weight_decay=1e-4)


def h_f(log_ratio: torch.Tensor, divergence: Divergence) -> torch.Tensor:
    """``h_f(u)`` at ``u = rho_E(s) / rho_theta(s) = exp(log_ratio)``: FKL ``-u``, RKL ``-log u``, JS ``-log(1 + u)``
    (``f(u) - u f'(u)`` up to constants, which the covariance ignores)."""
    if divergence == "fkl":
        return -log_ratio.exp()
    if divergence == "rkl":
        return -log_ratio
    if divergence == "js":
        return -F.softplus(log_ratio)
    raise LitIRLError(f"divergence must be fkl, rkl or js, got {divergence!r}")


def f_irl_loss(h_sums: torch.Tensor, reward_sums: torch.Tensor, horizon: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The f-IRL surrogate: ``(1/T) [mean_i(A_i B_i) - mean_i(A_i) mean_i(B_i)]`` over agent trajectories,
    ``A_i = sum_t h_f(...)`` (no gradient) and ``B_i = sum_t r_theta(s_t)``: its gradient is the
    covariance form of the f-divergence's gradient (Ni et al. Thm. 4.1, 1/alpha in the step size)."""
    a = h_sums.detach()
    loss = ((a * reward_sums).mean() - a.mean() * reward_sums.mean()) / horizon
    return loss, {"reward/loss": loss.detach(), "f_irl/h_mean": a.mean() / horizon}


class FIRL(MLIRL):
    """f-IRL on ML-IRL's loop (SAC steps under ``r_theta(s)``, never reset; fresh agent trajectories;
    one reward step), with its own reward step:

    1. a density-ratio classifier ``l(s) ~ log rho_E(s) / rho_theta(s)`` is trained for
       ``classifier_steps`` steps (binary cross-entropy) on all expert states vs the states of this
       iteration's ``agent_trajectories`` (the official code's 10 newest), ``classifier_batch`` per class;
    2. one reward step on :func:`f_irl_loss` with ``h_f`` of the chosen ``divergence``.

    f-IRL needs ``fixed_horizon`` termination (the fall's frozen state counts to T, as the official
    ``MujocoFH`` envs) and a state-only reward (clamped, default +-10).

    Args (beyond :class:`MLIRL`'s): ``divergence`` (fkl, rkl, js), ``classifier`` (its network and
    optimizer; default 2 x 128 tanh, logits clamped to +-10, Adam 3e-4, weight decay 1e-4),
    ``classifier_steps`` (official 1200), ``classifier_batch`` (official 800); ``demonstrations_from_other_env``
    as ML-IRL's (data transfer).
    """

    def __init__(
        self,
        env: EnvConfig,
        demonstrations: str,
        divergence: Divergence = "fkl",
        num_expert_trajectories: int = 1,
        held_out_expert_trajectories: int = 0,
        reward: RewardConfig = RewardConfig(inputs="s", hidden=[64, 64], clamp=10.0, lr=1e-4, weight_decay=1e-3),  # never mutated
        classifier: RewardConfig = CLASSIFIER,  # never mutated
        classifier_steps: int = 1200,
        classifier_batch: int = 800,
        sac: SACConfig = SACConfig(actor_lr=1e-3, critic_lr=1e-3, init_alpha=0.2, learn_alpha=False, batch_size=100),  # never mutated
        env_steps_per_iteration: int = 5_000,
        agent_trajectories: int = 10,
        recovery_transitions: int = 1_000,
        training: TrainingConfig = TrainingConfig(log_every=5_000),
        collection: CollectionConfig = CollectionConfig(env_steps_per_batch=50),
        off_policy: OffPolicyConfig = OffPolicyConfig(warmup_steps=1_000),
        demonstrations_from_other_env: bool = False,
    ) -> None:
        if env.termination != "fixed_horizon":
            raise LitIRLError(f"f-IRL matches state marginals over a fixed horizon: set env.termination fixed_horizon (got {env.termination})")
        if reward.inputs != "s" or classifier.inputs != "s":
            raise LitIRLError("f-IRL's reward and density-ratio classifier are state-only: reward.inputs and classifier.inputs must be s")
        if divergence not in ("fkl", "rkl", "js"):
            raise LitIRLError(f"divergence must be fkl, rkl or js, got {divergence!r}")
        check_positive(classifier_steps=classifier_steps, classifier_batch=classifier_batch)
        super().__init__(
            env, demonstrations, demonstrations_from_other_env=demonstrations_from_other_env,
            num_expert_trajectories=num_expert_trajectories, held_out_expert_trajectories=held_out_expert_trajectories,
            reward=reward, sac=sac, env_steps_per_iteration=env_steps_per_iteration, agent_trajectories=agent_trajectories,
            recovery_transitions=recovery_transitions, training=training, collection=collection, off_policy=off_policy,
        )  # fmt: skip
        self.save_hyperparameters()
        self.divergence, self.classifier_steps, self.classifier_batch = divergence, classifier_steps, classifier_batch
        spec = self.env_spec
        refuse_scale_penalty(classifier, "f-IRL's classifier")
        self.density_ratio = RewardModel(spec.obs_dim, spec.act_dim, classifier)
        self.expert_states = self.expert["obs"][self.expert_mask.bool()]

    def configure_optimizers(self):
        (optimizers, schedules) = super().configure_optimizers()
        return [*optimizers[:-1], self.density_ratio.make_optimizer(), optimizers[-1]], schedules

    def split_optimizers(self, optimizers: list) -> tuple[list, torch.optim.Optimizer]:
        return optimizers[:-2], optimizers[-1]

    def train_density_ratio(self, agent_states: torch.Tensor) -> dict[str, torch.Tensor]:
        """Expert states (label 1) vs this iteration's agent states (label 0)."""
        optimizer = self.optimizers()[-2]
        expert_states = self.expert_states.to(self.device)
        stats: dict[str, torch.Tensor] = {}
        for _ in range(self.classifier_steps):
            expert = TensorDict({"obs": expert_states[torch.randint(0, expert_states.shape[0], (self.classifier_batch,))]}, batch_size=[self.classifier_batch])
            agent = TensorDict({"obs": agent_states[torch.randint(0, agent_states.shape[0], (self.classifier_batch,))]}, batch_size=[self.classifier_batch])
            loss, stats = discriminator_loss(self.density_ratio(expert), self.density_ratio(agent))
            self.optimizer_step(loss, optimizer, name="f_irl/classifier_loss")
        return {key.replace("discriminator/", "f_irl/classifier_"): value for key, value in stats.items()}

    def reward_loss(self, agent: TensorDict, agent_mask: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        stats = self.train_density_ratio(agent["obs"][agent_mask.bool()])
        with torch.no_grad():
            h_sums = (h_f(self.density_ratio(agent), self.divergence) * agent_mask).sum(-1)
        reward_sums = (self.reward(agent) * agent_mask).sum(-1)
        loss, loss_stats = f_irl_loss(h_sums, reward_sums, agent_mask.shape[-1])
        return loss, {**stats, **loss_stats}
