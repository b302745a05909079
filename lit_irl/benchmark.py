"""Benchmark runs that outlive a machine session, and the summary the result tables are made of.

A :class:`BenchmarkRun` is one ``lit-irl fit`` in a fixed folder ``results/runs/<name>/run``:
starting it again continues from its ``last.ckpt`` (exact, with the replay buffer), or, when the
folder is gone (a new machine), from the compact checkpoint and TensorBoard events that
:meth:`BenchmarkRun.carry` packed into ``results/carry/<name>`` to be committed (not bit-identical:
the replay buffer holds only its most recent transitions; checkpoints carried before 2026-12-06
hold none, and the buffer refills for ``warmup_steps`` with the current policy).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from lit_irl.checkpoint_io import compact_checkpoint
from lit_irl.errors import LitIRLError
from lit_irl.reporting import logged_scalars, training_seconds

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
# Transitions of each replay buffer a carried checkpoint keeps: 50 Hopper episodes, about 5 MB. Without
# any, the resumed SAC drew its first updates from a 1,000-step refill and fell (see compact_checkpoint).
CARRY_REPLAY_ROWS = 50_000
# Parts of a run's wall time that the learners log as time_split/<part> (shares of each logging period).
TIME_PARTS = ["env_steps", "replay_sampling", "relabel", "sac_updates", "agent_rollouts", "reward_step", "reward_metrics",
              "evaluation", "checkpointing", "other"]


@dataclass
class BenchmarkRun:
    """``lit-irl fit --config <configs...> <overrides...>`` logging into ``results/runs/<name>/run``."""

    name: str
    configs: list[Path]
    overrides: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        missing = [str(path) for path in self.configs if not Path(path).exists()]
        if missing:
            raise LitIRLError(f"benchmark run {self.name}: no config {', '.join(missing)}; see configs/ for the ones there are")

    @property
    def folder(self) -> Path:
        return RESULTS / "runs" / self.name

    @property
    def carried(self) -> Path:
        return RESULTS / "carry" / self.name

    @property
    def last_checkpoint(self) -> Path:
        return self.folder / "run" / "checkpoints" / "last.ckpt"

    @property
    def latest_checkpoint(self) -> Path:
        """Its own ``last.ckpt``, else the compact one carried from an earlier session."""
        return self.last_checkpoint if self.last_checkpoint.exists() else self.carried / "last.ckpt"

    def finished(self) -> bool:
        """Whether its latest checkpoint reached the budget the run was trained with."""
        if not self.latest_checkpoint.exists():
            return False
        state = torch.load(self.latest_checkpoint, map_location="cpu", weights_only=False, mmap=True)
        hparams, unit = state["hyper_parameters"], state.get("lit_irl", {}).get("progress_unit", "env_steps")
        total = hparams["training"]["total_steps"] if "training" in hparams else hparams["total_env_steps"]  # older runs: the latter
        total = total.total_steps if hasattr(total, "total_steps") else total
        return int(state["state_dict"][unit]) >= int(total)

    def train(self, total_steps: int | None = None) -> int:
        """Run (or continue) it in a subprocess with ``OMP_NUM_THREADS=1``; returns the exit code.
        Its output goes to ``<folder>/train.log``."""
        resume_from = self.latest_checkpoint
        if resume_from.exists() and resume_from != self.last_checkpoint:
            (self.folder / "run").mkdir(parents=True, exist_ok=True)
            for events in self.carried.glob("events.out.tfevents.*"):
                shutil.copy2(events, self.folder / "run" / events.name)
        command = [
            sys.executable, "-m", "lit_irl.cli", "fit", *(arg for path in self.configs for arg in ("--config", str(path))),
            *self.overrides,
            "--trainer.enable_progress_bar", "false",
            "--trainer.logger.init_args.save_dir", str(self.folder.parent),
            "--trainer.logger.init_args.name", self.folder.name,
            "--trainer.logger.init_args.version", "run",
        ]
        if total_steps:
            command += ["--model.init_args.training.total_steps", str(total_steps)]
        if resume_from.exists():
            command += ["--ckpt_path", str(resume_from)]
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "train.log", "a") as log:
            environment = {**os.environ, "OMP_NUM_THREADS": "1"}
            return subprocess.run(command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, check=False).returncode

    def carry(self, replay_rows: int = CARRY_REPLAY_ROWS) -> None:
        """Pack the run for the next session: its compact checkpoint (networks, optimizers, reward
        net, counters, env and RNG states, the ``replay_rows`` most recent transitions of each replay
        buffer, none once the run is finished) and its TensorBoard events, 5-10 MB to commit."""
        if not self.last_checkpoint.exists():
            return
        self.carried.mkdir(parents=True, exist_ok=True)
        # A finished run is only evaluated and reported again: its buffers would be dead weight in git.
        steps = compact_checkpoint(self.last_checkpoint, self.carried / "last.ckpt", 0 if self.finished() else replay_rows)
        for events in (self.folder / "run").glob("events.out.tfevents.*"):
            shutil.copy2(events, self.carried / events.name)
        print(f"{self.carried}: {steps:,} steps")

    @property
    def events_folder(self) -> Path:
        """Its own run folder, else the events carried from an earlier session (a fresh checkout
        holds only those), so that reports can be made again from what is committed."""
        own = self.folder / "run"
        return own if any(own.glob("events.out.tfevents.*")) else self.carried

    def scalars(self, tag: str) -> list[tuple[int, float]]:
        return logged_scalars(self.events_folder, tag)

    def wall_seconds(self, unit: str = "env_steps") -> float:
        return training_seconds(self.events_folder, unit)


def time_split(runs: list[BenchmarkRun]) -> dict[str, float]:
    """Mean share of each part of :data:`TIME_PARTS` over all logging periods of ``runs`` (periods have equal
    progress). A part is logged only in the periods where it ran (an evaluation every fifth period): counted as
    0 in the others, not averaged over its own periods alone. Every period logs ``other``, so it counts them."""
    periods = sum(len(run.scalars("time_split/other")) for run in runs)
    if not periods:
        return {}
    totals = {part: sum(value for run in runs for _, value in run.scalars(f"time_split/{part}")) for part in TIME_PARTS}
    return {part: total / periods for part, total in totals.items() if total}


def train_runs(runs: list[BenchmarkRun], total_steps: int | None, parallel: int) -> list[str]:
    """Train (or continue) ``runs``, ``parallel`` at a time; prints and returns the names of the failed ones."""
    from concurrent.futures import ThreadPoolExecutor

    start = time.time()
    with ThreadPoolExecutor(parallel) as pool:
        codes = list(pool.map(lambda run: run.train(total_steps), runs))
    failed = [run.name for run, code in zip(runs, codes) if code != 0]
    print(f"{len(runs)} runs in {time.time() - start:.0f} s; failed: {failed or 'none'}")
    return failed
