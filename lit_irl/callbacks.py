"""Callbacks scheduled on the learner's progress unit (env steps or gradient steps), never on
Lightning's optimizer-step count."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from lightning import Callback, LightningModule, Trainer
import torch
from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.trainer.connectors.signal_connector import _SignalConnector
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities.exceptions import SIGTERMException

from lit_irl.errors import LitIRLError, check_positive


class Evaluation(Callback):
    """Every ``every_n_steps`` of the learner's progress unit, run its deterministic evaluation on
    the real env and log ``eval/return_*``.

    Evaluation draws no random numbers from the training streams, so it does not change training.
    """

    def __init__(self, every_n_steps: int = 10_000, at_end: bool = True) -> None:
        check_positive(every_n_steps=every_n_steps)
        self.every_n_steps = every_n_steps
        self.at_end = at_end

    def on_train_batch_end(self, trainer: Trainer, module: LightningModule, *args: Any) -> None:
        if module.batch_crossed(self.every_n_steps) or (self.at_end and trainer.should_stop):
            module.run_evaluation()


class VideoRecorder(Callback):
    """Every ``every_n_steps`` of the learner's progress unit (and when training ends), render one
    deterministic evaluation episode of its actor into ``<run folder>/videos/<unit>=<n>.mp4``
    (e.g. ``videos/env_steps=50000.mp4``). ``0`` (the default) records nothing.

    The episode is evaluation episode 0 (same start state every time, so videos along training
    compare), played at the env's real time. Rendering is slow without a GPU (software OpenGL:
    about 0.1 s a frame, 100 s for a 1000-step episode), hence off by default and a coarse schedule.
    Only global rank 0 records; a run without a logger has no run folder and records nothing.
    Needs headless OpenGL (``MUJOCO_GL=egl`` or ``osmesa``), checked when training starts.
    """

    def __init__(self, every_n_steps: int = 0, width: int = 480, height: int = 480) -> None:
        if every_n_steps < 0:
            raise LitIRLError(f"video.every_n_steps must be >= 0 (0: no videos), got {every_n_steps}")
        from lit_irl.video import check_frame_size

        check_frame_size(width, height, prefix="video.")
        self.every_n_steps, self.width, self.height = every_n_steps, width, height
        self.last_recorded: int | None = None

    def _active(self, trainer: Trainer) -> bool:
        return self.every_n_steps > 0 and trainer.is_global_zero and trainer.logger is not None

    def on_fit_start(self, trainer: Trainer, module: LightningModule) -> None:
        # At once, not after the first every_n_steps of training; on every rank, so that under DDP
        # all stop alike rather than rank 0 alone (the others would wait for it forever).
        if self.every_n_steps > 0 and trainer.logger is not None:
            from lit_irl.video import check_rendering

            check_rendering()

    def on_train_batch_end(self, trainer: Trainer, module: LightningModule, *args: Any) -> None:
        if not self._active(trainer) or self.last_recorded == module.progress:
            return
        if module.batch_crossed(self.every_n_steps) or trainer.should_stop:
            self.record(trainer, module)

    def record(self, trainer: Trainer, module: LightningModule) -> Path:
        from lit_irl.evaluation import eval_seed
        from lit_irl.video import record_video

        path = Path(trainer.log_dir) / "videos" / f"{module.progress_unit}={module.progress}.mp4"
        was_training = module.actor.training
        module.actor.eval()
        try:
            record_video(
                module.actor, module.env_config, path, episodes=1, seed=module.seed,
                width=self.width, height=self.height, reset_seeds=[eval_seed(module.seed, 0)],
            )
        finally:
            module.actor.train(was_training)
        self.last_recorded = module.progress
        return path


class ProgressCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` that saves every ``every_n_steps`` of the learner's progress unit and when
    training ends.

    ``last.ckpt`` is always kept, with everything exact resume needs (``--ckpt_path last``), and
    also written when the job gets SIGTERM (preemption, ``kill``), after the batch under way; with
    ``keep_all`` every periodic checkpoint is kept too as ``<unit>=<n>.ckpt`` (e.g.
    ``env_steps=25000.ckpt``; experts: medium policies and preference data are drawn from them).
    Kept checkpoints hold networks, optimizers and counters but no run state (replay buffer, envs,
    RNG) unless ``kept_with_replay``: with it, disk grows with the square of training length (Ant,
    1M steps every 25k: ~17 GB). The D4RL medium-replay data is rows ``[0, n)`` of the final buffer
    instead (``lit-irl-data offline --kind medium-replay --checkpoint last.ckpt --up-to-env-steps n``).
    """

    def __init__(self, every_n_steps: int = 10_000, keep_all: bool = False, kept_with_replay: bool = False, dirpath: str | None = None) -> None:
        check_positive(every_n_steps=every_n_steps)
        self.kept_with_replay = kept_with_replay
        super().__init__(
            dirpath=dirpath,
            filename="env_steps={env_steps}",  # set per learner in setup
            save_last=True,
            save_top_k=-1 if keep_all else 0,
            every_n_train_steps=0,
            every_n_epochs=0,
            save_on_train_epoch_end=False,
            auto_insert_metric_name=False,
            # A run continued from another folder's copy (a carried run, a moved worktree) overwrites its
            # last.ckpt rather than writing last-v1.ckpt beside it, which "latest" readers would miss.
            enable_version_counter=False,
        )
        self.every_n_steps = every_n_steps

    def setup(self, trainer: Trainer, module: LightningModule, stage: str) -> None:
        super().setup(trainer, module, stage)
        unit = module.progress_unit
        self.filename = f"{unit}={{{unit}}}"

    def _monitor_candidates(self, trainer: Trainer) -> dict[str, Any]:
        candidates = super()._monitor_candidates(trainer)
        module = trainer.lightning_module
        candidates[module.progress_unit] = module.progress
        return candidates

    def _save_checkpoint(self, trainer: Trainer, filepath: str) -> None:
        module = trainer.lightning_module
        light = not self.kept_with_replay and filepath != self.last_model_path
        module.save_run_state = not light  # every rank runs this, so the gather stays collective
        try:
            with module.timed("checkpointing"):
                super()._save_checkpoint(trainer, filepath)
        finally:
            module.save_run_state = True

    def on_train_batch_end(self, trainer: Trainer, module: LightningModule, *args: Any) -> None:
        if module.batch_crossed(self.every_n_steps) or trainer.should_stop:
            candidates = self._monitor_candidates(trainer)
            self._save_topk_checkpoint(trainer, candidates)
            self._save_last_checkpoint(trainer, candidates)

    def on_exception(self, trainer: Trainer, module: LightningModule, exception: BaseException) -> None:
        # Lightning raises SIGTERMException only between batches (a preempted or `kill`ed job), so the
        # state is a batch boundary and last.ckpt written here resumes exactly. Other exceptions can
        # stop a batch half-way (Ctrl+C inside an update, the NaN guard): nothing is saved, the
        # previous last.ckpt stands. Not during test/validate (nothing trained). Under DDP only
        # with AgreedSigterm (the lit-irl CLI's), where every rank stops after the same batch: the
        # save gathers every rank's run state, a collective all ranks must reach together.
        agreed = isinstance(getattr(trainer, "_signal_connector", None), AgreedSigterm)
        try:
            if not isinstance(exception, SIGTERMException) or trainer.state.fn != TrainerFn.FITTING or (trainer.world_size > 1 and not agreed):
                return
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
            # For the CLI's message. Lightning raises it whenever the loop is not done, even after the batch
            # that reached the budget: that run is finished, not stopped.
            exception.lit_irl_saved = self.last_model_path
            exception.lit_irl_finished = module.progress >= module.total_steps
        finally:
            # Lightning calls no teardown hook of the module after an exception: without this, the
            # worker processes of a collector (torchrl_multi) would outlive the run and block its exit.
            module.teardown(trainer.state.fn.value if trainer.state.fn else "fit")


class AgreedSigterm(_SignalConnector):
    """Lightning's SIGTERM handling with one change: the handler only notes the signal, and the
    ranks agree after each training batch (one all-reduce of a flag) whether any rank got it.

    Lightning's own handler broadcasts from inside the signal handler and forwards the signal to
    the other ranks, so under DDP ranks can meet it at different points of a batch and no
    checkpoint can be written collectively. Here every rank stops after the same batch, then
    ``ProgressCheckpoint`` saves ``last.ckpt`` (all ranks' run state) and the job exits with 143.
    Installed by the CLI (``trainer._signal_connector``: a private attribute of Lightning 2.6).
    """

    def __init__(self, trainer: Trainer) -> None:
        super().__init__(trainer)
        self.noticed = False

    def _sigterm_notifier_fn(self, signum: Any, frame: Any) -> None:
        self.noticed = True  # async-signal context: no collectives, no forwarding
        if self.trainer.state.fn != TrainerFn.FITTING:
            self.received_sigterm = True  # test / validate: stop at the next batch, nothing to save

    def register_signal_handlers(self) -> None:
        self.noticed = False
        super().register_signal_handlers()

    def agree(self) -> None:
        """Called by every rank after each training batch: any rank's signal stops them all."""
        flag = torch.tensor([1 if self.noticed else 0], device=self.trainer.strategy.root_device)
        if torch.distributed.is_available() and torch.distributed.is_initialized() and self.trainer.world_size > 1:
            torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
        if int(flag.item()):
            self.received_sigterm = True


class ProgressBar(TQDMProgressBar):
    """Progress in the learner's unit (of ``training.total_steps``), with its rate and the last
    eval return. When the output is not a terminal (a log file, CI) it prints one plain line per
    logging period instead of redrawing a bar."""

    def __init__(self, refresh_rate: int = 1) -> None:
        super().__init__(refresh_rate=refresh_rate)
        self.interactive = sys.stdout.isatty()
        if not self.interactive:
            self.disable()  # every bar is built disabled; on_train_batch_end prints lines instead

    def on_train_epoch_start(self, trainer: Trainer, module: LightningModule) -> None:
        super().on_train_epoch_start(trainer, module)
        self.train_progress_bar.reset(total=module.total_steps)
        self.train_progress_bar.n = module.progress
        self.train_progress_bar.unit = f" {module.progress_label}"

    def on_train_batch_end(self, trainer: Trainer, module: LightningModule, *args: Any) -> None:
        if not self.interactive:
            if trainer.is_global_zero and (module.batch_crossed(module.training_config.log_every) or trainer.should_stop):
                fields = "  ".join(f"{k} {v}" for k, v in module.progress_postfix().items())
                print(f"{module.progress_label} {module.progress:,}/{module.total_steps:,}  {fields}", flush=True)
            return
        bar = self.train_progress_bar
        # About 200 refreshes per run whatever its length: cheap in the loop.
        if module.batch_crossed(max(module.total_steps // 200, 1)) or trainer.should_stop:
            bar.n = module.progress
            bar.set_postfix(module.progress_postfix(), refresh=False)
            bar.refresh()
