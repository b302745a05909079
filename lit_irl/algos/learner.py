"""The base of every learner: progress, stopping, evaluation, logging, checkpoints, the NaN guard.

A learner subclasses :class:`Learner` (or one of its kinds: :class:`~lit_irl.algos.off_policy.OffPolicyLearner`,
:class:`~lit_irl.algos.on_policy.OnPolicyLearner`, :class:`~lit_irl.algos.offline.OfflineLearner`),
builds its networks in ``__init__`` and writes its loop in ``training_step`` (manual optimization),
ending it with :meth:`Learner.end_step`.

**Progress** is counted in the learner's own unit (:attr:`Learner.progress_unit`): env steps for
learners that step an env (summed over DDP ranks), gradient steps for offline ones. The budget
(``training.total_steps``), logging, evaluation and checkpoints are scheduled on it, and every
TensorBoard scalar is written against it. Lightning's ``global_step`` (which counts optimizer
steps, all optimizers together) drives nothing.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from lightning import LightningModule
from torch.utils.data import DataLoader, IterableDataset

from lit_irl import runtime
from lit_irl.data.collect import derive_seed
from lit_irl.envs import EnvConfig, probe_env
from lit_irl.errors import LitIRLError, check_positive
from lit_irl.evaluation import Evaluator
from lit_irl.metrics import ReturnStats

CHECKPOINT_FORMAT = 1
PROGRESS_UNITS = {"env_steps": "env steps", "gradient_steps": "gradient steps"}


@dataclass
class TrainingConfig:
    """Budget, logging, evaluation, seeding and the NaN guard of any learner.

    Steps are counted in the learner's progress unit: env steps (all DDP ranks together) for
    learners that step an env (SAC, ML-IRL, PPO), gradient steps for offline learners (BC).

    Attributes:
        total_steps: stop after this many steps of the progress unit.
        log_every: write training scalars every this many steps.
        eval_episodes: deterministic episodes on the real env per evaluation and in ``validate`` / ``test``.
        seed: network initialisation (identical on every rank) and, combined with the rank,
            collection, sampling and update noise.
        on_nonfinite: ``stop`` (default): a non-finite loss, gradient or parameter stops training with
            one line naming it and the last good checkpoint, which is never overwritten by it;
            ``skip``: a non-finite loss or gradient skips that optimizer step (counted, logged as
            ``guard/skipped_steps``), up to ``max_skipped_steps`` times, then stops.
        max_skipped_steps: the bound of ``skip``.
    """

    total_steps: int = 1_000_000
    log_every: int = 1_000
    eval_episodes: int = 10
    seed: int = 0
    on_nonfinite: Literal["stop", "skip"] = "stop"
    max_skipped_steps: int = 100

    def __post_init__(self) -> None:
        check_positive(total_steps=self.total_steps, log_every=self.log_every, eval_episodes=self.eval_episodes)
        if self.seed < 0:
            raise LitIRLError(f"seed must be >= 0, got {self.seed}")
        if self.on_nonfinite not in ("stop", "skip"):
            raise LitIRLError(f"on_nonfinite must be stop or skip, got {self.on_nonfinite!r}")
        if self.max_skipped_steps < 0:
            raise LitIRLError(f"max_skipped_steps must be >= 0, got {self.max_skipped_steps}")


class NonFiniteError(LitIRLError):
    """Training produced a non-finite loss, gradient or parameter (see ``training.on_nonfinite``)."""


class _Batches(IterableDataset):
    """An endless stream of batch indices: learners draw their data inside ``training_step``
    (from envs, a replay buffer or a dataset with their own saved random stream: exact resume)."""

    def __iter__(self):
        return itertools.count()


def all_gather_objects(obj: Any) -> list[Any]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        gathered: list[Any] = [None] * torch.distributed.get_world_size()
        torch.distributed.all_gather_object(gathered, obj)
        return gathered
    return [obj]


class Learner(LightningModule):
    """Base of every learner; see the module docstring.

    Subclasses set :attr:`progress_unit`, :attr:`uses_env_reward` and :attr:`actor` (the policy
    evaluated on the real env, :class:`lit_irl.nn.Actor`).
    """

    progress_unit: ClassVar[str] = "env_steps"
    # Whether the learner trains on the env's reward. When false the env reward is only recorded
    # (``true_reward``) for evaluation and metrics; a test per learner proves it never reaches a loss.
    uses_env_reward: ClassVar[bool] = False
    actor: torch.nn.Module

    def __init__(self, env: EnvConfig | None, training: TrainingConfig) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.env_config = env
        self.env_spec = probe_env(env) if env is not None else None  # None: no gym env (the sequence-level learners)
        self.training_config = training
        self.total_steps = training.total_steps
        self.seed = training.seed
        self.eval_episodes = training.eval_episodes
        # The counter that drives the learner lives in the state dict, hence in every checkpoint.
        self.register_buffer(self.progress_unit, torch.zeros((), dtype=torch.long))
        self.register_buffer("skipped_steps", torch.zeros((), dtype=torch.long))
        self.save_run_state = True  # the checkpoint callback turns it off for light kept checkpoints
        # Same initial networks on every rank (DDP also broadcasts rank 0's, this makes it moot).
        torch.manual_seed(training.seed)

        self.eval_returns = ReturnStats()
        self.last_eval_return: float | None = None
        self._evaluator: Evaluator | None = None
        self._pending_rng: dict | None = None
        self._meter = (time.perf_counter(), 0)  # (time, progress) at the last log
        self.throughput: float | None = None  # progress units per second over the last logging period
        self._progress_at_batch_start = 0
        self._part_seconds: dict[str, float] = {}  # wall time per part of the loop since the last log
        self._direct_steps = False  # see steps_directly()

    @contextlib.contextmanager
    def timed(self, part: str) -> Iterator[None]:
        """Count the wall time of the block towards ``part``; each log reports every part's share of
        its period as ``time_split/<part>`` (the rest is ``time_split/other``)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self._part_seconds[part] = self._part_seconds.get(part, 0.0) + time.perf_counter() - started

    # --------------------------------------------------------------- progress
    @property
    def progress(self) -> int:
        return int(getattr(self, self.progress_unit))

    def advance(self, amount: int) -> None:
        counter = getattr(self, self.progress_unit)
        counter += amount

    @property
    def progress_label(self) -> str:
        return PROGRESS_UNITS.get(self.progress_unit, self.progress_unit.replace("_", " "))

    @property
    def world_size(self) -> int:
        return self.trainer.world_size if self._trainer is not None else 1

    def setup(self, stage: str) -> None:
        runtime.configure_threads()
        runtime.silence_known_warnings()
        if stage == "fit":
            # The learner's random stream (sampling, update noise) differs per rank.
            runtime.seed_learner_streams(derive_seed(self.seed, self.global_rank, 1))

    def train_dataloader(self) -> DataLoader:
        return DataLoader(_Batches(), batch_size=None)

    def val_dataloader(self) -> DataLoader:
        # During fit, evaluation is the Evaluation callback's (scheduled on the progress unit, logged
        # against it); Lightning's end-of-epoch validation would only repeat it.
        fitting = self._trainer is not None and self.trainer.state.fn == "fit"
        return DataLoader([] if fitting else list(range(self.eval_episodes)), batch_size=None)

    def test_dataloader(self) -> DataLoader:
        return self.val_dataloader()

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        self._progress_at_batch_start = self.progress

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        # After the callbacks (evaluation, periodic checkpoint): the ranks agree whether to stop here.
        connector = getattr(self.trainer, "_signal_connector", None)
        if hasattr(connector, "agree"):
            connector.agree()

    def batch_crossed(self, every: int) -> bool:
        """Whether the progress of the current ``training_step`` crossed a multiple of ``every``:
        the schedule of logging, evaluation and checkpoints."""
        return self.progress // every > self._progress_at_batch_start // every

    def stop_when_done(self) -> None:
        if self.progress >= self.total_steps:
            self.trainer.should_stop = True

    def end_step(self, stats: dict[str, torch.Tensor]) -> None:
        """What closes every ``training_step``: the NaN guard, logging, stopping at the budget."""
        self.check_parameters_finite()
        self.log_training(stats)
        self.stop_when_done()

    # ------------------------------------------------------------- the guard
    def optimizer_step(self, loss: torch.Tensor, *optimizers: Any, name: str = "loss", max_grad_norm: float | None = None) -> bool:
        """``zero_grad``, backward (``manual_backward``: DDP, precision; or directly, see
        :meth:`steps_directly`), gradient-norm clipping (``max_grad_norm``), then the steps of
        ``optimizers`` unless the loss or the gradient is non-finite (see ``training.on_nonfinite``).
        Returns whether the step was taken."""
        direct = self._direct_steps
        if direct:
            optimizers = tuple(getattr(optimizer, "optimizer", optimizer) for optimizer in optimizers)
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        if direct:
            loss.backward()
        else:
            self.manual_backward(loss)
        # Python floats: torch.isfinite on these scalars costs more than the rest of the check.
        problem = None
        if not math.isfinite(float(loss.detach())):
            problem = f"non-finite {name} ({float(loss.detach())})"
        else:
            grads = [p.grad for optimizer in optimizers for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
            # Checked after backward, i.e. after DDP averaged them: every rank decides alike.
            norms = torch.stack(torch._foreach_norm(grads)) if grads else torch.zeros(1)
            if not math.isfinite(float(norms.sum())):
                problem = f"non-finite gradient of {name}"
            elif max_grad_norm is not None:
                norm = float(torch.linalg.vector_norm(norms))
                if norm > max_grad_norm:
                    torch._foreach_mul_(grads, max_grad_norm / (norm + 1e-6))
        if problem is None:
            for optimizer in optimizers:
                optimizer.step()
            if direct:  # what LightningOptimizer.step counts: global_step is one per optimizer step
                progress = self.trainer.fit_loop.epoch_loop.manual_optimization.optim_step_progress
                for _ in optimizers:
                    progress.increment_ready()
                    progress.increment_completed()
            return True
        self._non_finite(problem, skippable=True)
        return False

    def steps_directly(self) -> bool:
        """Whether :meth:`optimizer_step` may call ``backward`` and the bare optimizers' ``step``.

        ``manual_backward`` and ``LightningOptimizer.step`` route every step through the strategy,
        the precision plugin and the callback hooks: 6-8% of a SAC update (``tools/bench_throughput.py
        --only sac``, the "through Lightning's route" row). On one device in full precision, with no
        profiler and nothing that overrides a backward or optimizer-step hook, that route does
        nothing, so the step is taken directly and counted as Lightning counts it (``global_step``);
        so does ``bf16-mixed``. Any other setup (DDP, 16-bit precision with its loss scaler, a callback
        watching gradients) keeps Lightning's route.
        """
        from lightning.pytorch import Callback
        from lightning.pytorch.plugins.precision import MixedPrecision, Precision
        from lightning.pytorch.profilers import PassThroughProfiler
        from lightning.pytorch.strategies import SingleDeviceStrategy

        trainer = self.trainer
        precision = trainer.strategy.precision_plugin
        # bf16-mixed adds autocast around training_step (Lightning's forward context) and nothing to
        # backward or to the step: no loss scaler.
        bf16_mixed = type(precision) is MixedPrecision and precision.precision == "bf16-mixed" and precision.scaler is None
        if type(trainer.strategy) is not SingleDeviceStrategy or not (type(precision) is Precision or bf16_mixed):
            return False
        if not isinstance(trainer.profiler, PassThroughProfiler):
            return False
        hooks = ("on_before_backward", "on_after_backward", "on_before_optimizer_step", "on_before_zero_grad")
        watched = any(getattr(type(callback), hook) is not getattr(Callback, hook) for callback in trainer.callbacks for hook in hooks)
        overridden = any(getattr(type(self), hook) is not getattr(LightningModule, hook) for hook in (*hooks, "backward"))
        return not (watched or overridden)

    @torch.no_grad()
    def check_parameters_finite(self) -> None:
        params = list(self.parameters())
        if params and not math.isfinite(float(torch.stack(torch._foreach_norm(params)).sum())):
            bad = next(name for name, p in self.named_parameters() if not torch.isfinite(p).all())
            self._non_finite(f"non-finite parameter {bad}", skippable=False)

    def _non_finite(self, problem: str, skippable: bool) -> None:
        config = self.training_config
        if skippable and config.on_nonfinite == "skip" and int(self.skipped_steps) < config.max_skipped_steps:
            self.skipped_steps += 1
            return
        last = None
        if self._trainer is not None and self.trainer.checkpoint_callback is not None:
            last = getattr(self.trainer.checkpoint_callback, "last_model_path", None) or None
        where = f"the last good checkpoint is {last}" if last else "no checkpoint was written before it"
        why = (
            f"{config.max_skipped_steps} optimizer steps were already skipped (training.max_skipped_steps)"
            if skippable and config.on_nonfinite == "skip"
            else "lower the learning rates, or set training.on_nonfinite: skip to skip such steps"
        )
        raise NonFiniteError(f"{problem} at {self.progress_label.rstrip('s')} {self.progress:,}: training stopped; {where}; {why}")

    # ---------------------------------------------------------------- logging
    def extra_metrics(self, elapsed: float) -> dict[str, float]:
        """Scalars a kind of learner adds to every log (throughput of updates, training returns)."""
        return {}

    def log_training(self, stats: dict[str, torch.Tensor]) -> None:
        """Write scalars against the progress unit, every ``training.log_every`` steps of it."""
        if not self.batch_crossed(self.training_config.log_every) or self.trainer.logger is None:
            return
        now, progress = time.perf_counter(), self.progress
        last_time, last_progress = self._meter
        elapsed = max(now - last_time, 1e-9)
        metrics = {k: float(v) for k, v in stats.items()}
        metrics[f"perf/{self.progress_unit}_per_s"] = (progress - last_progress) / elapsed
        metrics[f"counters/{self.progress_unit}"] = progress
        if int(self.skipped_steps):
            metrics["guard/skipped_steps"] = int(self.skipped_steps)
        metrics.update(self.extra_metrics(elapsed))
        if self._part_seconds:
            shares = {f"time_split/{part}": seconds / elapsed for part, seconds in self._part_seconds.items()}
            metrics.update(shares, **{"time_split/other": max(0.0, 1.0 - sum(shares.values()))})
            self._part_seconds = {}
        self._meter = (now, progress)
        self.throughput = metrics[f"perf/{self.progress_unit}_per_s"]
        self.log_scalars(metrics)

    def log_scalars(self, metrics: dict[str, float]) -> None:
        if self.trainer.logger is not None:
            for logger in self.trainer.loggers:
                logger.log_metrics(metrics, step=self.progress)

    def on_fit_start(self) -> None:
        # TensorBoard's x-axis is a bare "step": say once, in the run, which unit it counts.
        for logger in self.trainer.loggers:
            experiment = getattr(logger, "experiment", None)
            if self.global_rank == 0 and hasattr(experiment, "add_text"):
                experiment.add_text("x_axis", f"Every scalar of this run is logged against **{self.progress_label}** ({type(self).__name__}).", 0)

    def progress_postfix(self) -> dict[str, str]:
        """What the progress bar shows beside the count."""
        postfix = {}
        if self.throughput:
            postfix["steps/s"] = f"{self.throughput:.0f}"
        if self.last_eval_return is not None:
            postfix["eval_return"] = f"{self.last_eval_return:.1f}"
        return postfix

    # ------------------------------------------------------------- evaluation
    def evaluator(self) -> Evaluator:
        if self._evaluator is None:
            self._evaluator = Evaluator(self.env_config, self.seed)
        return self._evaluator

    def run_evaluation(self) -> dict[str, float]:
        """``eval_episodes`` deterministic episodes on the real env, split over ranks; logs true-return mean/std."""
        with self.timed("evaluation"):
            return self.evaluate()

    def evaluate(self) -> dict[str, float]:
        episodes = list(range(self.global_rank, self.eval_episodes, self.world_size))
        was_training = self.actor.training
        self.actor.eval()
        returns = [ret for ret, _ in self.evaluator().run(self.actor, episodes)]
        self.actor.train(was_training)
        self.eval_returns.update(torch.as_tensor(returns, dtype=torch.float64))
        stats = self.eval_returns.compute()
        self.eval_returns.reset()
        result = {"eval/return_mean": float(stats["mean"]), "eval/return_std": float(stats["std"])}
        self.last_eval_return = result["eval/return_mean"]
        self.log_scalars(result)
        return result

    def on_validation_epoch_start(self) -> None:
        self._episode_results: list[tuple[int, float, int]] = []

    on_test_epoch_start = on_validation_epoch_start

    def _episode_step(self, episode: int) -> None:
        ((ret, length),) = self.evaluator().run(self.actor, [int(episode)])
        self.eval_returns.update(torch.tensor([ret], dtype=torch.float64))
        self._episode_results.append((int(episode), ret, length))

    def validation_step(self, batch: int, batch_idx: int) -> None:
        self._episode_step(batch)

    def test_step(self, batch: int, batch_idx: int) -> None:
        self._episode_step(batch)

    def _log_episode_results(self, prefix: str) -> None:
        stats = self.eval_returns.compute()
        self.eval_returns.reset()
        self.log_dict({f"{prefix}/return_mean": stats["mean"].float(), f"{prefix}/return_std": stats["std"].float()}, sync_dist=False)
        rows = [row for rank_rows in all_gather_objects(self._episode_results) for row in rank_rows]
        if self.global_rank == 0 and prefix == "test":
            from lit_irl.reporting import print_episode_table

            print_episode_table(self.env_config.env_id, type(self).__name__, self.progress, self.progress_label, sorted(rows))

    def on_validation_epoch_end(self) -> None:
        self._log_episode_results("val")

    def on_test_epoch_end(self) -> None:
        self._log_episode_results("test")

    # ------------------------------------------------------------ checkpoints
    def checkpoint_identity(self) -> dict[str, Any]:
        env, spec = self.env_config, self.env_spec
        identity = {
            "format": CHECKPOINT_FORMAT,
            "algo": type(self).__name__,
            "env_id": env.env_id if env is not None else None,
            "termination": env.termination if env is not None else None,
            "obs_dim": spec.obs_dim if spec is not None else None,
            "act_dim": spec.act_dim if spec is not None else None,
            "progress_unit": self.progress_unit,
        }
        if getattr(self, "actor", None) is not None:  # a world model has none
            identity["actor"] = self.actor.spec()  # an exported or rolled-out policy rebuilds its own architecture
        return identity

    def run_state(self) -> dict[str, Any]:
        """This rank's state beyond networks and optimizers (random streams; kinds add theirs)."""
        return {"rng": runtime.rng_states(), "last_eval_return": self.last_eval_return}

    def load_run_state(self, state: dict[str, Any]) -> None:
        self.last_eval_return = state.get("last_eval_return")
        # Applied in on_train_start, after Lightning has finished its own set-up.
        self._pending_rng = state["rng"]

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["lit_irl"] = self.checkpoint_identity()
        if self._trainer is None or self.trainer.state.fn != "fit" or not self.save_run_state:
            return
        # Every rank has its own streams (and envs, buffers): rank 0 writes them all. The key keeps
        # its first name so that checkpoints of every lit_irl version resume.
        checkpoint["collection"] = all_gather_objects(self.run_state())

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.check_checkpoint(checkpoint)
        states = checkpoint.get("collection")
        if self._trainer is None or self.trainer.state.fn != "fit":
            return
        if states is None:
            self.warn_no_run_state()
            return
        if len(states) != self.world_size:
            import warnings

            warnings.warn(
                f"checkpoint was written by {len(states)} rank(s), this run has {self.world_size}: "
                "network and optimizer state resume exactly, random streams (and collection) restart"
            )
            return
        self.load_run_state(states[self.global_rank])

    def warn_no_run_state(self) -> None:
        """A checkpoint without run state (a light or compact one): networks, optimizers and counters resume."""

    def check_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        found = checkpoint.get("lit_irl")
        ours = self.checkpoint_identity()
        where = f"checkpoint {self._trainer.ckpt_path}" if self._trainer is not None and self._trainer.ckpt_path else "the checkpoint"
        if found is None:
            raise LitIRLError(f"{where} was not written by lit_irl (no 'lit_irl' entry); pass a checkpoint from `lit-irl fit`")
        if found.get("format") != CHECKPOINT_FORMAT:
            raise LitIRLError(
                f"{where} has checkpoint format {found.get('format')}, this lit_irl reads format {CHECKPOINT_FORMAT}; "
                "resume it with the lit_irl version that wrote it"
            )
        if found["algo"] != ours["algo"]:
            raise LitIRLError(
                f"{where} was written by {found['algo']}, this run is {ours['algo']}; "
                f"use --model lit_irl.algos.{found['algo']} or a {ours['algo']} checkpoint"
            )
        for key in ("env_id", "obs_dim", "act_dim", "termination"):
            if found.get(key) != ours[key]:
                raise LitIRLError(
                    f"{where} is for {found['env_id']} (obs {found['obs_dim']}, act {found['act_dim']}, termination "
                    f"{found.get('termination')}), this run is for {ours['env_id']} (obs {ours['obs_dim']}, act "
                    f"{ours['act_dim']}, termination {ours['termination']}); use a checkpoint of the same env and config"
                )
        ours_shapes = {k: tuple(v.shape) for k, v in self.state_dict().items()}
        # Counters added to lit_irl after a checkpoint was written start at zero.
        optional = {"skipped_steps"}
        theirs = set(checkpoint.get("state_dict", {}))
        missing, unexpected = sorted(set(ours_shapes) - theirs - optional), sorted(theirs - set(ours_shapes))
        if missing or unexpected:
            raise LitIRLError(
                f"{where} holds other networks than this config builds (missing: {', '.join(missing[:4]) or 'none'}; "
                f"not in this config: {', '.join(unexpected[:4]) or 'none'}); use the config the checkpoint was "
                "trained with (its run folder keeps it as config.yaml)"
            )
        for key, value in checkpoint.get("state_dict", {}).items():
            if key in ours_shapes and tuple(value.shape) != ours_shapes[key]:
                raise LitIRLError(
                    f"{where} has {key} of shape {tuple(value.shape)}, this config builds {ours_shapes[key]}; "
                    "use the config the checkpoint was trained with (its run folder keeps it as config.yaml)"
                )
        for key in optional & set(ours_shapes) - theirs:
            checkpoint["state_dict"][key] = torch.zeros_like(self.state_dict()[key])

    def on_train_start(self) -> None:
        if self._pending_rng is not None:
            runtime.restore_rng_states(self._pending_rng)
            self._pending_rng = None
        self._meter = (time.perf_counter(), self.progress)
        self._direct_steps = self.steps_directly()
        # Lightning runs at least one batch after a resume; a finished run must not grow by one.
        self.stop_when_done()



class ReportEvaluation:
    """For learners without episodes to evaluate (a world model, a reward model, the sequence-level
    learners): evaluation is :meth:`report`'s metrics, logged as ``eval/<name>`` during ``fit``,
    ``val/<name>`` by ``validate`` and ``test/<name>`` (and printed) by ``test``."""

    report_title = "report"

    def report(self) -> dict[str, float]:
        raise NotImplementedError

    def evaluate(self) -> dict[str, float]:
        result = {f"eval/{key}": value for key, value in self.report().items()}
        self.log_scalars(result)
        return result

    def val_dataloader(self) -> DataLoader:
        fitting = self._trainer is not None and self.trainer.state.fn == "fit"
        return DataLoader([] if fitting else [0], batch_size=None)  # validate / test: one report

    def test_dataloader(self) -> DataLoader:
        return self.val_dataloader()

    def on_validation_epoch_start(self) -> None:
        pass

    on_test_epoch_start = on_validation_epoch_start
    on_validation_epoch_end = on_validation_epoch_start
    on_test_epoch_end = on_validation_epoch_start

    def validation_step(self, batch: int, batch_idx: int) -> None:
        self.log_dict({f"val/{k}": v for k, v in self.report().items()}, sync_dist=False, batch_size=1)

    def test_step(self, batch: int, batch_idx: int) -> None:
        report = self.report()
        self.log_dict({f"test/{k}": v for k, v in report.items()}, sync_dist=False, batch_size=1)
        if self.global_rank == 0:
            print(f"{self.report_heading()}: " + "  ".join(f"{k} {v:.5g}" for k, v in report.items()))

    def report_heading(self) -> str:
        return f"{type(self).__name__} {self.report_title}"
