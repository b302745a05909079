"""The results layer: tables printed to the terminal, what the tools read back from a run's
TensorBoard events, and the multi-seed tables, curves and comparisons of ``results/``."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
from rich.console import Console
from rich.table import Table

from lit_irl.data.scores import normalized_score
from lit_irl.files import atomic_write
from lit_irl.stats import iqm, performance_profile_ci, probability_of_improvement_ci, stratified_bootstrap_ci


def print_episode_table(env_id: str, algo: str, progress: int, unit: str, rows: list[tuple[int, float, int]]) -> None:
    """Per-episode true returns and their summary; ``rows`` are (episode, return, length); the
    policy was trained for ``progress`` steps of ``unit`` (env steps, gradient steps)."""
    returns = np.array([r for _, r, _ in rows], dtype=np.float64)
    scored = normalized_score(env_id, 0.0) is not None
    table = Table(title=f"{algo} on {env_id} after {progress:,} {unit}: deterministic evaluation")
    table.add_column("episode", justify="right")
    table.add_column("return", justify="right")
    table.add_column("length", justify="right")
    if scored:
        table.add_column("normalized (0 random, 100 zoo expert)", justify="right")
    for episode, ret, length in rows:
        table.add_row(str(episode), f"{ret:.1f}", str(length), *([f"{normalized_score(env_id, ret):.1f}"] if scored else []))
    table.add_section()
    mean_score = [f"{normalized_score(env_id, returns.mean()):.1f}"] if scored else []
    table.add_row("mean ± std", f"{returns.mean():.1f} ± {returns.std():.1f}", "", *mean_score)
    Console().print(table)


def logged_scalars(run: str | Path, tag: str) -> list[tuple[int, float]]:
    """``(env step, value)`` of ``tag`` over every TensorBoard event file of a run folder, in step
    order; a resumed run adds files, and a step logged twice keeps the later file's value."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    points: dict[int, float] = {}
    for events in sorted(Path(run).glob("events.out.tfevents.*")):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        if tag in accumulator.Tags()["scalars"]:
            points.update({e.step: e.value for e in accumulator.Scalars(tag)})
    return sorted(points.items())


def training_seconds(run: str | Path, unit: str = "env_steps") -> float:
    """Seconds of actual training (each logging period's steps over its steps/s), so that
    interruptions between resumed sessions do not count. A run folder that starts mid-run (resumed
    into a new version folder) counts its first point as one logging period, not from step 0."""
    points = [(step, rate) for step, rate in logged_scalars(run, f"perf/{unit}_per_s") if rate > 0]
    if not points:
        return 0.0
    steps = [step for step, _ in points]
    period = min((b - a for a, b in zip(steps, steps[1:])), default=steps[0])
    total, last = 0.0, steps[0] - min(steps[0], period)
    for step, rate in points:
        total, last = total + (step - last) / rate, step
    return total


# ------------------------------------------------------------------ the results layer
# Every benchmark table is made here, from runs' TensorBoard events: per (env, method) the last
# evaluation of each seed, the mean of its last LAST_EVALS evaluations, their IQM over seeds with a
# stratified-bootstrap 95% CI (lit_irl.stats), curves with CI bands, and across methods the
# probability of improvement and performance profiles.

LAST_EVALS = 5  # evaluations averaged per seed for the "recent" score (every 25k env steps in the configs)
BOOTSTRAP_REPS = 2000


class EvaluatedRun(Protocol):
    """What a table needs of a run (:class:`lit_irl.benchmark.BenchmarkRun` is one)."""

    name: str

    def scalars(self, tag: str) -> list[tuple[int, float]]: ...

    def wall_seconds(self, unit: str = "env_steps") -> float: ...

    def finished(self) -> bool: ...  # read only by eval_summary(finished_only=True)


def interval(values: list[float] | np.ndarray, scale: float = 1.0) -> tuple[float, float, float]:
    """IQM over seeds and its stratified-bootstrap 95% CI (one task), divided by ``scale``."""
    point, low, high = stratified_bootstrap_ci(np.asarray(values, dtype=float), iqm, reps=BOOTSTRAP_REPS, seed=0)
    return point / scale, low / scale, high / scale


def eval_summary(runs: list[EvaluatedRun], reference: float | None, unit: str = "env_steps", finished_only: bool | str = False) -> dict:
    """What the result tables show for runs that differ only in seed: the last deterministic
    evaluation of each (never a checkpoint picked by true return), the mean of each one's last
    ``LAST_EVALS`` evaluations (single evaluations swing) and their IQM over seeds with a 95% CI,
    each one's best evaluation (selected by the true return: an upper bound, labelled as such),
    steps of the learners' ``unit`` (the key stays ``env_steps``), training wall time and the
    ratios to ``reference`` (an expert's or a ground-truth learner's return; none unless positive:
    Pendulum-v1's returns are all negative, and -300 / -150 = 2 would read as twice the expert).
    ``finished_only``: a run that has not reached its budget (``run.finished()``) adds its curve but
    none of its numbers, and is listed under ``unfinished`` with its last evaluation's step, so a
    seed carried halfway never mixes its budget into a finished row's means. ``finished_only="if_any"``:
    so once one seed is finished; before that every seed counts (a probe stopped early keeps its numbers)."""
    if finished_only == "if_any":
        finished_only = any(run.finished() for run in runs if run.scalars("eval/return_mean"))
    finals, recents, bests, steps, walls, curves, unfinished = [], [], [], [], [], {}, {}
    for run in runs:
        evals = run.scalars("eval/return_mean")
        if not evals:
            continue
        curves[run.name] = evals
        if finished_only and not run.finished():
            unfinished[run.name] = evals[-1][0]
            continue
        finals.append(evals[-1][1])
        recents.append(float(np.mean([v for _, v in evals[-LAST_EVALS:]])))
        bests.append(max(v for _, v in evals))
        steps.append(evals[-1][0])
        walls.append(run.wall_seconds(unit))
    positive = reference is not None and reference > 0

    def ratio(values: list[float]) -> float | None:
        return float(np.mean(values) / reference) if values and positive else None

    iqm_recent = interval(recents) if recents else None
    return {
        "seeds": len(finals), "seed_finals": finals, "seed_recents": recents,
        "final_mean": float(np.mean(finals)) if finals else None, "final_std": float(np.std(finals)) if finals else None,
        "recent_mean": float(np.mean(recents)) if recents else None, "best_mean": float(np.mean(bests)) if bests else None,
        "recent_iqm": iqm_recent, "recent_iqm_ratio": interval(recents, reference) if recents and positive else None,
        "reference": reference, "ratio": ratio(finals), "recent_ratio": ratio(recents), "best_ratio": ratio(bests),
        "env_steps": int(np.min(steps)) if steps else 0, "env_steps_max": int(np.max(steps)) if steps else 0,
        "wall_time_h": float(np.mean(walls)) / 3600 if walls else 0.0, "curves": curves, "unfinished": unfinished,
    }


def _with_ci(estimate: tuple[float, float, float] | list[float] | None, digits: int) -> str:
    if estimate is None:
        return "-"
    point, low, high = estimate
    if low == high == point:  # one seed (or identical ones): no interval to show
        return f"{point:.{digits}f}"
    return f"{point:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


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
    seeds = str(summary["seeds"])
    if unfinished := summary.get("unfinished"):
        seeds += f" (+{len(unfinished)} unfinished, at " + ", ".join(f"{step:,}" for step in unfinished.values()) + ")"
    return [
        seeds, final, number("reference"), ratio("ratio"),
        _with_ci(summary.get("recent_iqm"), 1), _with_ci(summary.get("recent_iqm_ratio"), 2),
        number("best_mean"), ratio("best_ratio"), budget, f"{summary['wall_time_h']:.2f} h",
    ]


SUMMARY_HEADER = [
    "seeds", "final return", "{reference}", "ratio", f"IQM of last {LAST_EVALS} evals [95% CI]", "ratio [95% CI]",
    "best (selected by true return)", "ratio", "env steps", "wall time / seed",
]

SUMMARY_LEGEND = (
    "*Final return*: the last deterministic evaluation of each seed, mean ± std over seeds; *ratio*: to the {reference}'s "
    "return (\"-\" where that return is not positive). Single evaluations swing (SAC under a moving reward), so each "
    f"seed's score is the mean of its last {LAST_EVALS} evaluations; the table gives their interquartile mean (IQM) over "
    "seeds with a stratified-bootstrap 95% confidence interval (Agarwal et al. 2021; with fewer than 4 seeds the IQM is "
    "the mean, and one seed has no interval). *Best* is each seed's highest evaluation: a checkpoint selected with the "
    "true return, as the official code reports it — an upper bound, not a result of the method. When seeds differ in "
    "budget, env steps shows the range and every mean mixes budgets; where a table counts finished seeds only, a seed still "
    "carried toward its budget is named beside the count and left out of the numbers."
)


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(row) + " |" for row in rows)]


def recovery_cells(recoveries: list[dict[str, float] | None]) -> list[str]:
    """EPIC, Pearson and Spearman cells (mean ± std over seeds) of :func:`lit_irl.rewards.epic.reward_recovery` results."""
    found = [r for r in recoveries if r]
    if not found:
        return ["-", "-", "-"]
    return [f"{np.mean([r[k] for r in found]):.3f} ± {np.std([r[k] for r in found]):.3f}" for k in ("epic", "pearson", "spearman")]


RECOVERY_HEADER = ["EPIC to the true reward (0 best)", "Pearson", "Spearman"]


def _figure(panels: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(1, panels, figsize=(5 * panels, 3.5), squeeze=False)


def save_figure(figure, path: Path) -> None:
    figure.tight_layout()
    with atomic_write(path) as tmp:
        figure.savefig(tmp, dpi=110, format=Path(path).suffix.lstrip(".") or "png")


def curve_band(curves: dict[str, list[tuple[int, float]]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Steps every seed evaluated at, and the IQM over seeds with its 95% CI there (``None`` for one seed)."""
    if len(curves) < 2:
        return None
    shared = sorted(set.intersection(*(set(step for step, _ in curve) for curve in curves.values())))
    if not shared:
        return None
    values = np.array([[dict(curve)[step] for curve in curves.values()] for step in shared])  # (steps, seeds)
    estimates = np.array([stratified_bootstrap_ci(row, iqm, reps=500, seed=0) for row in values])
    return np.array(shared), estimates[:, 0], estimates[:, 1], estimates[:, 2]


def plot_curves(panels: list[tuple[str, dict, float | None, str]], path: Path, x_label: str = "env steps") -> None:
    """One panel per ``(title, curves by run name, reference line, its label)``: each seed's eval
    return (thin), and with several seeds their IQM with a 95% CI band at the steps all evaluated."""
    figure, axes = _figure(len(panels))
    for axis, (title, curves, reference, reference_label) in zip(axes[0], panels):
        band = curve_band(curves)
        for name, curve in curves.items():
            axis.plot([s for s, _ in curve], [v for _, v in curve], linewidth=0.8 if band else 1.5, alpha=0.5 if band else 1.0,
                      label=name.rsplit("/", 1)[-1])
        if band:
            steps, point, low, high = band
            axis.plot(steps, point, color="k", linewidth=1.8, label="IQM over seeds")
            axis.fill_between(steps, low, high, color="k", alpha=0.15, label="95% CI")
        if reference:
            axis.axhline(reference, color="k", linestyle="--", label=reference_label)
        axis.set_title(title, fontsize=9)
        axis.set_xlabel(x_label if "gradient" not in title else "gradient steps")
        axis.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
        axis.set_ylabel("true return (deterministic eval)")
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=7)
    save_figure(figure, path)


def method_scores(summaries: dict[str, dict]) -> dict[str, np.ndarray]:
    """Each method's normalized per-seed scores (last evaluations / reference), as (seeds, 1)."""
    return {
        name: np.asarray(s["seed_recents"], dtype=float)[:, None] / s["reference"]
        for name, s in summaries.items()
        if s.get("seed_recents") and s.get("reference") and s["reference"] > 0
    }


def improvement_rows(scores: dict[str, np.ndarray], pairs: list[tuple[str, str]]) -> list[list[str]]:
    """``P(X > Y)`` with its 95% CI for each pair of methods (both must have scores)."""
    rows = []
    for x, y in pairs:
        if x in scores and y in scores:
            estimate = probability_of_improvement_ci(scores[x], scores[y], reps=BOOTSTRAP_REPS, seed=0)
            rows.append([x, y, _with_ci(estimate, 2), f"{len(scores[x])} vs {len(scores[y])}"])
    return rows


IMPROVEMENT_HEADER = ["X", "Y", "P(X > Y) [95% CI]", "seeds"]


def plot_performance_profiles(scores: dict[str, np.ndarray], path: Path, title: str) -> None:
    """Fraction of runs whose normalized score exceeds tau, per method, with 95% CI bands."""
    top = max(1.2, max(float(s.max()) for s in scores.values()) * 1.05)
    thresholds = np.linspace(0.0, top, 61)
    figure, axes = _figure(1)
    axis = axes[0][0]
    for name, method in scores.items():
        profile, low, high = performance_profile_ci(method, thresholds, reps=BOOTSTRAP_REPS, seed=0)
        axis.plot(thresholds, profile, label=f"{name} ({len(method)} seeds)")
        axis.fill_between(thresholds, low, high, alpha=0.15)
    axis.set_title(title, fontsize=9)
    axis.set_xlabel("normalized score tau (last evaluations / reference)")
    axis.set_ylabel("fraction of runs with score > tau")
    axis.legend(fontsize=7)
    save_figure(figure, path)
