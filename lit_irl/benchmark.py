"""Benchmark runs that outlive a machine session, and the summary the result tables are made of.

A :class:`BenchmarkRun` is one ``lit-irl fit`` in a fixed folder ``results/runs/<name>/run``:
starting it again continues from its ``last.ckpt`` (exact, with the replay buffer), or, when the
folder is gone (a new machine), from the compact checkpoint and TensorBoard events that
:meth:`BenchmarkRun.carry` packed into ``results/carry/<name>`` to be committed (not bit-identical:
the replay buffer refills for ``warmup_steps`` with the current policy).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from lit_irl.checkpoint_io import compact_checkpoint
from lit_irl.errors import LitIRLError
from lit_irl.files import atomic_write
from lit_irl.reporting import logged_scalars, training_seconds

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
LAST_EVALS = 5  # evaluations averaged for the "recent" column (every 25k env steps in the configs)


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

    def carry(self) -> None:
        """Pack the run for the next session: its compact checkpoint (networks, optimizers, reward
        net, counters; no replay buffer) and its TensorBoard events, a few MB to commit."""
        if not self.last_checkpoint.exists():
            return
        self.carried.mkdir(parents=True, exist_ok=True)
        steps = compact_checkpoint(self.last_checkpoint, self.carried / "last.ckpt")
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


def eval_summary(runs: list[BenchmarkRun], reference: float | None, unit: str = "env_steps") -> dict:
    """What the result tables show for runs that differ only in seed: the last deterministic
    evaluation of each (never a checkpoint picked by true return), the mean of each one's last
    ``LAST_EVALS`` evaluations (single evaluations swing), each one's best evaluation (selected by
    the true return: an upper bound, labelled as such), steps of the learners' ``unit`` (the key
    stays ``env_steps``), training wall time and the
    ratios of the means to ``reference`` (an expert's or a ground-truth learner's return)."""
    finals, recents, bests, steps, walls, curves = [], [], [], [], [], {}
    for run in runs:
        evals = run.scalars("eval/return_mean")
        if not evals:
            continue
        curves[run.name] = evals
        finals.append(evals[-1][1])
        recents.append(float(np.mean([v for _, v in evals[-LAST_EVALS:]])))
        bests.append(max(v for _, v in evals))
        steps.append(evals[-1][0])
        walls.append(run.wall_seconds(unit))

    def ratio(values: list[float]) -> float | None:
        # A share of the reference only means something when the reference is positive: Pendulum-v1's
        # returns are all negative, and -300 / -150 = 2 would read as twice the expert.
        return float(np.mean(values) / reference) if values and reference is not None and reference > 0 else None

    return {
        "seeds": len(finals),
        "final_mean": float(np.mean(finals)) if finals else None, "final_std": float(np.std(finals)) if finals else None,
        "recent_mean": float(np.mean(recents)) if recents else None, "best_mean": float(np.mean(bests)) if bests else None,
        "reference": reference, "ratio": ratio(finals), "recent_ratio": ratio(recents), "best_ratio": ratio(bests),
        "env_steps": int(np.min(steps)) if steps else 0, "env_steps_max": int(np.max(steps)) if steps else 0,
        "wall_time_h": float(np.mean(walls)) / 3600 if walls else 0.0, "curves": curves,
    }


def summary_cells(summary: dict) -> list[str]:
    """The table cells of :func:`eval_summary`, in the order of :data:`SUMMARY_HEADER`."""

    def number(key: str) -> str:
        return f"{summary[key]:.1f}" if summary.get(key) is not None else "-"

    def ratio(key: str) -> str:
        return f"{summary[key]:.2f}" if summary.get(key) is not None else "-"

    final = f"{summary['final_mean']:.1f} ± {summary['final_std']:.1f}" if summary["final_mean"] is not None else "-"
    budget = f"{summary['env_steps']:,}"
    if summary["env_steps_max"] != summary["env_steps"]:
        budget += f" – {summary['env_steps_max']:,}"
    return [
        str(summary["seeds"]), final, number("reference"), ratio("ratio"), number("recent_mean"), ratio("recent_ratio"),
        number("best_mean"), ratio("best_ratio"), budget, f"{summary['wall_time_h']:.2f} h",
    ]


SUMMARY_HEADER = [
    "seeds", "final return", "{reference}", "ratio", f"last {LAST_EVALS} evals", "ratio",
    "best (selected by true return)", "ratio", "env steps", "wall time / seed",
]

SUMMARY_LEGEND = (
    "Final deterministic evaluation (last eval of each seed), mean ± std over seeds; ratio to the {reference}'s return "
    "(\"-\" where that return is not positive). "
    f"The single evaluations swing (SAC under a moving reward), so the mean of each seed's last {LAST_EVALS} evaluations "
    "is shown beside it. *Best* is each seed's highest evaluation: a checkpoint selected with the true return, as the "
    "official code reports it — an upper bound, not a result of the method. When seeds differ in budget, env steps "
    "shows the range and every mean mixes budgets."
)


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(row) + " |" for row in rows)]


def plot_curves(panels: list[tuple[str, dict, float | None, str]], path: Path) -> None:
    """One panel per ``(title, curves by run name, reference line, its label)``; eval return over env steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.5), squeeze=False)
    for axis, (title, curves, reference, reference_label) in zip(axes[0], panels):
        for name, curve in curves.items():
            axis.plot([s for s, _ in curve], [v for _, v in curve], label=name.rsplit("/", 1)[-1])
        if reference:
            axis.axhline(reference, color="k", linestyle="--", label=reference_label)
        axis.set_title(title, fontsize=9)
        axis.set_xlabel("env steps")
        axis.set_ylabel("true return (deterministic eval)")
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=7)
    figure.tight_layout()
    with atomic_write(path) as tmp:
        figure.savefig(tmp, dpi=110, format=Path(path).suffix.lstrip(".") or "png")
