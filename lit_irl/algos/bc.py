"""Behaviour cloning: maximum likelihood of expert actions (Pomerleau 1991), offline."""

from __future__ import annotations

from typing import Literal

import torch

from lit_irl.algos.learner import TrainingConfig
from lit_irl.algos.offline import OfflineLearner
from lit_irl.data.modules import ExpertDemonstrations
from lit_irl.envs import EnvConfig
from lit_irl.errors import LitIRLError, check_positive
from lit_irl.nn import Activation, DeterministicActor, TanhGaussianActor


class BC(OfflineLearner):
    """Behaviour cloning from demonstrations (or any D4RL-format file).

    Per gradient step: a minibatch of expert ``(s, a)`` and one Adam step on

    - ``head: tanh_gaussian``: ``-mean log pi(a | s)`` of the squashed Gaussian (expert actions on
      the bounds of the box are pulled 1e-6 inside before atanh, so the loss stays finite);
    - ``head: deterministic``: ``mean ||mu(s) - a||^2`` (the negative log-likelihood of a fixed-std
      Gaussian around the squashed mean, up to scale and constant).

    The env is stepped only by evaluation (deterministic episodes, true return).

    Args:
        env: the env the demonstrations come from (dims and env id are checked) and evaluation runs in.
        demonstrations: D4RL-format HDF5 (``lit-irl-data demos``, the zoo, a D4RL file).
        num_trajectories: learn from the first N complete episodes of the file (``null``: all).
        head: ``tanh_gaussian`` (maximum likelihood) or ``deterministic`` (MSE).
        actor_hidden: hidden layer sizes of the policy MLP.
        activation: between hidden layers.
        normalize_obs: standardize observations with the demonstrations' mean and std (kept in
            the actor, so the exported policy acts on raw observations).
        lr: Adam step size.
        weight_decay: L2 penalty of Adam (BC with weight decay nearly matches the expert from
            complete trajectories, Li et al. 2022).
        batch_size: expert transitions per gradient step.
        training: budget (gradient steps), logging, evaluation, seed.
    """

    def __init__(
        self,
        env: EnvConfig,
        demonstrations: str,
        num_trajectories: int | None = 1,
        head: Literal["tanh_gaussian", "deterministic"] = "tanh_gaussian",
        actor_hidden: list[int] = [256, 256],  # noqa: B006  (read-only)
        activation: Activation = "relu",
        normalize_obs: bool = True,
        lr: float = 3e-4,
        weight_decay: float = 0.0,
        batch_size: int = 256,
        training: TrainingConfig = TrainingConfig(total_steps=50_000, log_every=1_000),
    ) -> None:
        super().__init__(env, training)
        check_positive(actor_hidden=actor_hidden, lr=lr, batch_size=batch_size)
        if head not in ("tanh_gaussian", "deterministic"):
            raise LitIRLError(f"BC head must be tanh_gaussian or deterministic, got {head!r}")
        if weight_decay < 0:
            raise LitIRLError(f"weight_decay must be >= 0, got {weight_decay}")
        self.save_hyperparameters()
        self.head, self.lr, self.weight_decay, self.batch_size = head, lr, weight_decay, batch_size
        spec = self.env_spec
        actor_class = TanhGaussianActor if head == "tanh_gaussian" else DeterministicActor
        self.actor = actor_class(spec.obs_dim, spec.act_dim, actor_hidden, spec.action_low, spec.action_high, activation, normalize_obs=normalize_obs)

        demos = ExpertDemonstrations(demonstrations, env, num_trajectories)
        demos.setup()  # a bad file fails here, before any training
        self.demonstrations = {key: demos.transitions[key] for key in ("obs", "action")}
        if normalize_obs:
            self.actor.obs_normalizer.set(self.demonstrations["obs"])

    def configure_optimizers(self):
        return torch.optim.Adam(self.actor.parameters(), lr=self.lr, weight_decay=self.weight_decay, fused=True)

    def bc_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loss of the configured head on a minibatch of expert ``(obs, action)``."""
        if self.head == "tanh_gaussian":
            log_prob = self.actor.log_prob(batch["obs"], batch["action"])
            loss = -log_prob.mean()
            return loss, {"loss/bc_nll": loss.detach()}
        loss = (self.actor.mean_action(batch["obs"]) - batch["action"]).pow(2).sum(-1).mean()
        return loss, {"loss/bc_mse": loss.detach()}

    def training_step(self, batch: int, batch_idx: int) -> None:
        optimizer, steps = self.optimizers(), self.gradient_steps_this_batch()
        for _ in range(steps):
            loss, stats = self.bc_loss(self.sample(self.demonstrations, self.batch_size))
            self.optimizer_step(loss, optimizer, name="loss/bc")
        self.end_step(stats, steps)
