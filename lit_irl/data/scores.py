"""Normalized scores: 100 * (return - random) / (expert - random).

Two references: D4RL's published numbers (for real D4RL v2 files and the classic envs) and our
own for the v5 envs (uniform-random policy and our zoo expert, in ``reference_returns.json``,
written by ``tools/build_zoo.py``). Scores of v5 runs are reported against our own reference only.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

# d4rl 1.1 infos.py, v2 datasets (REF_MIN_SCORE, REF_MAX_SCORE).
D4RL_REFERENCE = {
    "hopper": (-20.272305, 3234.3),
    "halfcheetah": (-280.178953, 12135.0),
    "walker2d": (1.629008, 4592.3),
    "ant": (-325.6, 3879.7),
}
REFERENCE_FILE = Path(__file__).with_name("reference_returns.json")


@cache
def lit_irl_references() -> dict[str, dict[str, float]]:
    return json.loads(REFERENCE_FILE.read_text()) if REFERENCE_FILE.exists() else {}


def _normalize(value: float, low: float, high: float) -> float:
    return 100.0 * (value - low) / (high - low)


def d4rl_normalized_score(env_name: str, value: float) -> float:
    """For D4RL datasets: ``env_name`` is the D4RL family (``hopper``, ``halfcheetah``, ...)."""
    low, high = D4RL_REFERENCE[env_name.split("-")[0].lower()]
    return _normalize(value, low, high)


def normalized_score(env_id: str, value: float) -> float | None:
    """Against our own random and expert returns for ``env_id``; ``None`` until the zoo has an expert."""
    reference = lit_irl_references().get(env_id)
    if not reference or reference.get("expert") is None:
        return None
    return _normalize(value, reference["random"], reference["expert"])
