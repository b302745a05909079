"""Tables printed to the terminal, and what the tools read back from a run's TensorBoard events."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from lit_irl.data.scores import normalized_score


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
