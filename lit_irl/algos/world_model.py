"""The offline learner that fits a world model (:class:`~lit_irl.models.world_model.GaussianEnsemble`) on a
transition dataset: holdout split, bootstrap, early stopping and elites; what follows the official code and
what differs is in :mod:`lit_irl.models.world_model`."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lit_irl.algos.learner import ReportEvaluation, TrainingConfig
from lit_irl.algos.offline import OfflineLearner
from lit_irl.data.d4rl import load_dataset
from lit_irl.envs import EnvConfig
from lit_irl.errors import LitIRLError, check_positive
from lit_irl.models.world_model import (
    BOOTSTRAP_STREAM,
    CONFIG_HINT,
    LOG_2PI,
    OFFICIAL_WEIGHT_DECAY,
    ORDER_STREAM,
    SPLIT_STREAM,
    GaussianEnsemble,
    _generator,
    _layer_weight_decay,
    check_elites,
)
from lit_irl.nn import Activation


@dataclass
class WorldModelConfig:
    """Architecture and training of the world model (defaults: the official values, offline.md 2.2).

    Attributes:
        num_models: ensemble members N (official per task: 7-13; OfflineRL-Kit: 7).
        num_elites: members used for model steps, the lowest holdout MSE (official: 5).
        hidden: hidden layer sizes of every member (official: 4 x 200).
        activation: between hidden layers (official: SiLU, "swish").
        predict_reward: also predict the dataset reward (plain MOPO); never in IRL.
        lr: Adam step size.
        weight_decay: L2 decay of each linear layer's weights (hidden layers, then output), or one
            number for all layers.
        batch_size: rows per member per gradient step.
        holdout_fraction: share of the dataset held out for model selection and early stopping.
        holdout_max: at most this many holdout rows (OfflineRL-Kit: 1000); ``null``: the fraction
            alone (the official code).
        max_epochs: stop after this many epochs (passes over the training split); ``null``: no cap.
        patience: stop after this many consecutive epochs in which no member improved.
        min_improvement: relative holdout-MSE improvement that counts (0.01: more than 1%).
        min_epochs: never stop early before this many epochs (official walker2d: 350).
    """

    num_models: int = 7
    num_elites: int = 5
    hidden: list[int] = field(default_factory=lambda: [200, 200, 200, 200])
    activation: Activation = "silu"
    predict_reward: bool = False
    lr: float = 1e-3
    weight_decay: float | list[float] = field(default_factory=lambda: list(OFFICIAL_WEIGHT_DECAY))
    batch_size: int = 256
    holdout_fraction: float = 0.2
    holdout_max: int | None = 1000
    max_epochs: int | None = 1000
    patience: int = 5
    min_improvement: float = 0.01
    min_epochs: int = 0

    def __post_init__(self) -> None:
        if not self.hidden:
            raise LitIRLError("hidden is empty; give at least one hidden layer size, e.g. [200, 200, 200, 200]")
        check_positive(num_models=self.num_models, num_elites=self.num_elites, hidden=self.hidden)
        check_positive(lr=self.lr, batch_size=self.batch_size, patience=self.patience)
        check_elites(self.num_models, self.num_elites)
        if not 0.0 < self.holdout_fraction < 1.0:
            raise LitIRLError(f"holdout_fraction must lie in (0, 1), got {self.holdout_fraction}; the official value is 0.2")
        if self.holdout_max is not None:
            check_positive(holdout_max=self.holdout_max)
        if self.max_epochs is not None:
            check_positive(max_epochs=self.max_epochs)
        if not 0.0 <= self.min_improvement < 1.0:
            raise LitIRLError(f"min_improvement must lie in [0, 1), got {self.min_improvement}; the official value is 0.01")
        if self.min_epochs < 0:
            raise LitIRLError(f"min_epochs must be >= 0, got {self.min_epochs}")
        _layer_weight_decay(self.weight_decay, len(self.hidden) + 1)


def require_next_observations(path: str | Path) -> None:
    """A dynamics model learns from the file's own next states: reject a file without them."""
    import h5py

    with h5py.File(path, "r") as f:
        if "next_observations" not in f:
            raise LitIRLError(
                f"dataset {path} has no next_observations (a D4RL v0/v1 layout); a world model learns from the file's "
                "own next states, never obs[i+1] across episode ends: use a D4RL v2 file or one written by lit-irl-data"
            )


class WorldModel(ReportEvaluation, OfflineLearner):
    """Fits a :class:`GaussianEnsemble` to a D4RL-format dataset (offline; the env is never stepped).

    An epoch is one pass of every member over its bootstrap of the training split
    (``ceil(train rows / batch_size)`` gradient steps); each ``training_step`` makes up to
    ``GRADIENT_STEPS_PER_BATCH`` of them without crossing an epoch's end. After each epoch the
    holdout decides each member's best weights, the elites and early stopping (module docstring).
    Training ends at early stopping, ``max_epochs`` or ``training.total_steps`` (gradient steps),
    whichever comes first. :func:`load_world_model` reads the best weights from a checkpoint.

    Logged: ``world_model/train_nll`` (Gaussian NLL per dim, mean over members, on their bootstrap
    minibatches), and after every epoch ``world_model/holdout_mse``, ``world_model/holdout_mse_normalized``
    (per dim, divided by the variance of the training targets) and ``world_model/holdout_nll`` (Gaussian,
    per dim): means over the elites of their best weights.

    Args:
        env: the env the dataset comes from (env id and dims are checked).
        dataset: D4RL-format HDF5 with ``next_observations`` (``lit-irl-data offline``, D4RL v2).
        world_model: architecture and training (:class:`WorldModelConfig`).
        training: budget (gradient steps), logging, seed (split, bootstrap, order, initialisation).
    """

    def __init__(
        self,
        env: EnvConfig,
        dataset: str,
        world_model: WorldModelConfig = WorldModelConfig(),
        training: TrainingConfig = TrainingConfig(total_steps=4_000_000, log_every=1_000),
    ) -> None:
        super().__init__(env, training)
        self.save_hyperparameters()
        self.world_model_config = config = world_model
        self.uses_env_reward = config.predict_reward
        spec = self.env_spec
        data = load_dataset(dataset, env.env_id, spec.obs_dim, spec.act_dim)
        require_next_observations(dataset)

        rows = len(data)
        holdout_rows = min(round(config.holdout_fraction * rows), config.holdout_max or rows)
        if holdout_rows < 1 or rows - holdout_rows < 1:
            raise LitIRLError(
                f"dataset {dataset} has {rows} transitions: too few to hold out {config.holdout_fraction:.0%} "
                "and train on the rest; use a larger dataset"
            )
        order = torch.randperm(rows, generator=_generator(self.seed, SPLIT_STREAM))
        columns = {"obs": data.observations, "action": data.actions, "next_obs": data.next_observations}
        if config.predict_reward:
            columns["reward"] = data.rewards  # otherwise the reward is never read into the learner
        tensors = {key: torch.from_numpy(value) for key, value in columns.items()}
        self._holdout = {key: value[order[:holdout_rows]] for key, value in tensors.items()}
        self._train = {key: value[order[holdout_rows:]] for key, value in tensors.items()}
        self.train_rows = rows - holdout_rows
        self.steps_per_epoch = math.ceil(self.train_rows / config.batch_size)
        # numpy's float64 sums do not depend on the thread count (torch's may): the same file, the same checksum.
        self.dataset_fingerprint = {"rows": rows, "checksum": float(sum(np.sum(value, dtype=np.float64) for value in columns.values()))}

        self.ensemble = GaussianEnsemble(
            spec.obs_dim, spec.act_dim, config.num_models, config.num_elites, config.hidden, config.activation, config.predict_reward
        )
        self.ensemble.fit_input_normalizer(self._train["obs"], self._train["action"])
        # Each member's best weights so far (frozen): what training ends on and what load_world_model reads.
        self.best_ensemble = copy.deepcopy(self.ensemble).requires_grad_(False)
        train_targets = self.ensemble.targets(self._train["obs"], self._train["next_obs"], self._train.get("reward"))
        self._target_var = train_targets.var(dim=0, unbiased=False).clamp_min(1e-12)
        # Each member's own rows of the training split, drawn with replacement.
        bootstrap_shape = (config.num_models, self.train_rows)
        self._bootstrap = torch.randint(0, self.train_rows, bootstrap_shape, generator=_generator(self.seed, BOOTSTRAP_STREAM))
        self._epoch_rows: tuple[int, torch.Tensor] | None = None

        # Counters and early-stopping state live in the state dict: a resumed run continues exactly.
        self.register_buffer("epochs_done", torch.zeros((), dtype=torch.long))
        self.register_buffer("step_in_epoch", torch.zeros((), dtype=torch.long))
        self.register_buffer("epochs_since_improvement", torch.zeros((), dtype=torch.long))
        self.register_buffer("best_holdout_mse", torch.full((config.num_models,), math.inf))
        self.register_buffer("training_finished", torch.zeros((), dtype=torch.bool))
        self._last_holdout: dict[str, float] = {}

    def configure_optimizers(self):
        return torch.optim.Adam(self.ensemble.parameter_groups(self.world_model_config.weight_decay), lr=self.world_model_config.lr)

    # ------------------------------------------------------------------- data
    def _on_device(self, data: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if next(iter(data.values())).device != self.device:
            data.update({key: value.to(self.device) for key, value in data.items()})
        return data

    def epoch_rows(self) -> torch.Tensor:
        """``(N, train rows)``: the order in which each member visits its bootstrap this epoch, from
        a stream of (seed, epoch, rank), so a run resumed mid-epoch continues it exactly."""
        epoch = int(self.epochs_done)
        if self._epoch_rows is None or self._epoch_rows[0] != epoch:
            generator = _generator(self.seed, ORDER_STREAM, epoch, self.global_rank)
            # Stable: equal random keys (likely among 1M float32s) are ordered the same way everywhere.
            shuffle = torch.argsort(torch.rand(self._bootstrap.shape, generator=generator), dim=1, stable=True)
            self._epoch_rows = (epoch, self._bootstrap.gather(1, shuffle).to(self.device))
        return self._epoch_rows[1]

    # ---------------------------------------------------------------- training
    def stop_when_done(self) -> None:
        if bool(self.training_finished):
            self.trainer.should_stop = True
        super().stop_when_done()

    def training_step(self, batch: int, batch_idx: int) -> None:
        if bool(self.training_finished):  # a finished run resumed: nothing left to do
            self.stop_when_done()
            return
        optimizer, config = self.optimizers(), self.world_model_config
        steps = min(self.gradient_steps_this_batch(), self.steps_per_epoch - int(self.step_in_epoch))
        data, rows = self._on_device(self._train), self.epoch_rows()
        first = int(self.step_in_epoch) * config.batch_size
        nll_total = torch.zeros((), device=self.device)
        for step in range(steps):
            index = rows[:, first + step * config.batch_size : first + (step + 1) * config.batch_size]  # (N, B)
            reward = data["reward"][index] if config.predict_reward else None
            nll = self.ensemble.nll_loss(data["obs"][index], data["action"][index], data["next_obs"][index], reward)
            self.optimizer_step(nll + self.ensemble.logvar_bound_loss(), optimizer, name="loss/world_model")
            nll_total += nll.detach()
        self.step_in_epoch += steps
        # On the scale of holdout_nll (Gaussian NLL per dim): half the objective, plus the constant.
        self.end_step({"world_model/train_nll": 0.5 * (nll_total / (steps * config.num_models) + LOG_2PI)}, steps)
        if int(self.step_in_epoch) == self.steps_per_epoch:
            self.end_epoch()
            self.stop_when_done()

    @torch.no_grad()
    def end_epoch(self) -> None:
        """Holdout MSE of every member: keep improved members' weights, choose elites, maybe stop."""
        config = self.world_model_config
        self.step_in_epoch.zero_()
        self.epochs_done += 1
        holdout = self._on_device(self._holdout)
        current = self.ensemble.holdout_mse(holdout["obs"], holdout["action"], holdout["next_obs"], holdout.get("reward"))
        improved = current < self.best_holdout_mse * (1.0 - config.min_improvement)
        if bool(improved.any()):
            self.best_holdout_mse[improved] = current[improved]
            self.best_ensemble.copy_members_from(self.ensemble, improved)
            self.epochs_since_improvement.zero_()
        else:
            self.epochs_since_improvement += 1
        self.best_ensemble.set_elites(self.best_holdout_mse)
        self.ensemble.elites.copy_(self.best_ensemble.elites)
        epochs = int(self.epochs_done)
        stale = int(self.epochs_since_improvement) >= config.patience and epochs >= config.min_epochs
        if stale or (config.max_epochs is not None and epochs >= config.max_epochs):
            self.training_finished.fill_(True)
            self.ensemble.load_state_dict(self.best_ensemble.state_dict())  # training ends on each member's best weights
        report = self.holdout_report()
        self.log_scalars(
            {
                **{f"world_model/{key}": value for key, value in report.items()},
                "world_model/holdout_mse_last_epoch": float(current.mean()),
                "world_model/epoch": epochs,
                "world_model/epochs_since_improvement": int(self.epochs_since_improvement),
            }
        )

    def holdout_report(self) -> dict[str, float]:
        """Holdout metrics of the elites' best weights (means over the elites)."""
        holdout = self._on_device(self._holdout)
        metrics = self.best_ensemble.holdout_metrics(holdout["obs"], holdout["action"], holdout["next_obs"], holdout.get("reward"))
        elites = self.best_ensemble.elites
        normalized = metrics["mse_per_dim"][elites] / self._target_var.to(metrics["mse_per_dim"].device)
        self._last_holdout = {
            "holdout_mse": float(metrics["mse"][elites].mean()),
            "holdout_mse_normalized": float(normalized.mean()),
            "holdout_nll": float(metrics["nll"][elites].mean()),
        }
        return dict(self._last_holdout)

    def trained_ensemble(self) -> GaussianEnsemble:
        """A copy of the best weights with their elites (what :func:`load_world_model` returns)."""
        return copy.deepcopy(self.best_ensemble).eval()

    def progress_postfix(self) -> dict[str, str]:
        postfix = super().progress_postfix()
        postfix["epoch"] = str(int(self.epochs_done))
        if self._last_holdout:
            postfix["holdout_mse"] = f"{self._last_holdout['holdout_mse']:.4g}"
        return postfix

    # -------------------------------------------------------------- evaluation
    def report(self) -> dict[str, float]:
        """No env: the holdout metrics of the elites' best weights (``holdout_mse``, ``holdout_nll``, ...)."""
        return self.holdout_report()

    def report_heading(self) -> str:
        return f"{self.env_config.env_id} world model, {int(self.epochs_done)} epochs, elites {self.best_ensemble.elites.tolist()}"

    # ------------------------------------------------------------- checkpoints
    def checkpoint_identity(self) -> dict[str, Any]:
        return {**super().checkpoint_identity(), "world_model": self.ensemble.spec(), "dataset": dict(self.dataset_fingerprint)}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        theirs = checkpoint["lit_irl"].get("dataset")
        fitting = self._trainer is not None and self.trainer.state.fn == "fit"
        # The split, bootstrap and epoch order are recomputed from the data: resuming needs the same rows.
        ours = self.dataset_fingerprint
        same = theirs is None or (
            theirs["rows"] == ours["rows"] and math.isclose(theirs["checksum"], ours["checksum"], rel_tol=1e-9, abs_tol=1e-6)
        )
        if fitting and not same:
            raise LitIRLError(
                f"the checkpoint's world model was trained on another dataset ({theirs['rows']} rows, this one has "
                f"{self.dataset_fingerprint['rows']}); resume with the dataset the run was trained on (its config.yaml names it)"
            )


def load_world_model(
    path: str | Path, env_id: str | None = None, obs_dim: int | None = None, act_dim: int | None = None
) -> GaussianEnsemble:
    """The trained ensemble (each member's best weights, elites, normalizer) of a ``WorldModel``
    checkpoint, in eval mode; ``env_id``/``obs_dim``/``act_dim``, when given, must match its own."""
    from lit_irl.checkpoint_io import load_checkpoint_file

    state = load_checkpoint_file(path)
    identity = state.get("lit_irl") if isinstance(state, dict) else None
    fix = f"train one with `lit-irl fit --config {CONFIG_HINT}` and pass its runs/worldmodel-<env>/version_<n>/checkpoints/last.ckpt"
    if not isinstance(identity, dict) or "state_dict" not in state:
        raise LitIRLError(f"{path} is not a lit_irl training checkpoint; {fix}")
    if identity.get("algo") != WorldModel.__name__ or "world_model" not in identity:
        raise LitIRLError(f"{path} was written by {identity.get('algo')}, not by WorldModel; {fix}")
    spec = identity["world_model"]
    wanted = {"env_id": env_id, "obs_dim": obs_dim, "act_dim": act_dim}
    found = {"env_id": identity.get("env_id"), "obs_dim": spec["obs_dim"], "act_dim": spec["act_dim"]}
    if any(value is not None and found[key] != value for key, value in wanted.items()):
        raise LitIRLError(
            f"world model {path} is for {found['env_id']} (obs {found['obs_dim']}, act {found['act_dim']}), this run is for "
            f"{env_id or '?'} (obs {obs_dim or '?'}, act {act_dim or '?'}); {fix.replace('one', 'a world model of this env', 1)}"
        )
    ensemble = GaussianEnsemble(**spec)
    prefix = "best_ensemble."
    ensemble.load_state_dict({key[len(prefix) :]: value for key, value in state["state_dict"].items() if key.startswith(prefix)})
    return ensemble.requires_grad_(False).eval()
