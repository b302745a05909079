"""Tables printed to the terminal."""

from __future__ import annotations

import numpy as np
from rich.console import Console
from rich.table import Table


def print_episode_table(env_id: str, algo: str, env_steps: int, rows: list[tuple[int, float, int]]) -> None:
    """Per-episode true returns and their summary; ``rows`` are (episode, return, length)."""
    returns = np.array([r for _, r, _ in rows], dtype=np.float64)
    table = Table(title=f"{algo} on {env_id} after {env_steps:,} env steps: deterministic evaluation")
    table.add_column("episode", justify="right")
    table.add_column("return", justify="right")
    table.add_column("length", justify="right")
    for episode, ret, length in rows:
        table.add_row(str(episode), f"{ret:.1f}", str(length))
    table.add_section()
    table.add_row("mean ± std", f"{returns.mean():.1f} ± {returns.std():.1f}", "")
    Console().print(table)
