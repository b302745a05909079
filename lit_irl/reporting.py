"""Tables printed to the terminal."""

from __future__ import annotations

import numpy as np
from rich.console import Console
from rich.table import Table

from lit_irl.data.scores import normalized_score


def print_episode_table(env_id: str, algo: str, env_steps: int, rows: list[tuple[int, float, int]]) -> None:
    """Per-episode true returns and their summary; ``rows`` are (episode, return, length)."""
    returns = np.array([r for _, r, _ in rows], dtype=np.float64)
    scored = normalized_score(env_id, 0.0) is not None
    table = Table(title=f"{algo} on {env_id} after {env_steps:,} env steps: deterministic evaluation")
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
