"""Demonstrations in the termination convention of the env a learner runs in (``env.termination``).

Files hold what a ``plain`` env emits: an episode ends at its terminal row. A learner in a
``fixed_horizon`` or ``absorbing`` env (lit_irl.envs.make) sees every episode run to the horizon, so
expert data must look the same, or the discriminator / critic learns the difference in termination
rather than in behaviour (DAC, Kostrikov et al. 2019). :func:`to_termination` converts one plain file:

- ``absorbing``: every observation gets the indicator 0; the terminal row leads to the absorbing
  state (zeros, indicator 1), which repeats, with action 0 and reward 0, until the horizon;
- ``fixed_horizon``: the terminal row's next observation repeats as a frozen state, action 0 and
  reward 0, until the horizon.

Neither marks a row terminal (the env does not either). Episodes cut by the time limit are unchanged
(but for the indicator). The (N, T, d) trajectory form and the (s, a, s', terminated, truncated)
row form of a learner are then both read from the converted data (:class:`ExpertDemonstrations`).
"""

from __future__ import annotations

import numpy as np

from lit_irl.data.d4rl import TransitionData
from lit_irl.errors import LitIRLError


def to_termination(data: TransitionData, termination: str, horizon: int) -> TransitionData:
    """``data`` (plain episodes) as a ``termination`` env of horizon ``horizon`` would have emitted it."""
    if termination == "plain":
        return data
    if termination not in ("fixed_horizon", "absorbing"):
        raise LitIRLError(f"unknown termination {termination!r}")
    absorbing = termination == "absorbing"

    def indicated(obs: np.ndarray, flag: float) -> np.ndarray:
        return np.concatenate([obs, np.full((*obs.shape[:-1], 1), flag, dtype=obs.dtype)], -1) if absorbing else obs

    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("observations", "actions", "rewards", "terminals", "timeouts", "next_observations")}
    for start, stop in data.episode_bounds():
        rows = slice(start, stop)
        obs, next_obs = indicated(data.observations[rows], 0.0), indicated(data.next_observations[rows], 0.0)
        timeouts = data.timeouts[rows].copy()
        pad = horizon - (stop - start) if data.terminals[stop - 1] else 0
        if pad < 0:
            raise LitIRLError(f"{data.path}: an episode of {stop - start} steps is longer than the horizon {horizon}; set env.max_episode_steps to match the data")
        frozen = np.zeros_like(next_obs[-1]) if absorbing else next_obs[-1].copy()
        if absorbing:
            frozen[-1] = 1.0
        if data.terminals[stop - 1]:
            next_obs[-1] = frozen
        parts["observations"] += [obs, np.repeat(frozen[None], pad, 0)]
        parts["next_observations"] += [next_obs, np.repeat(frozen[None], pad, 0)]
        parts["actions"] += [data.actions[rows], np.zeros((pad, data.act_dim), dtype=data.actions.dtype)]
        parts["rewards"] += [data.rewards[rows], np.zeros(pad, dtype=data.rewards.dtype)]
        parts["terminals"] += [np.zeros(stop - start + pad, dtype=bool)]
        if pad:
            timeouts[-1] = False
        parts["timeouts"] += [timeouts, np.arange(1, pad + 1) == pad]
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    return TransitionData(**arrays, attrs={**data.attrs, "termination": termination}, path=data.path)
