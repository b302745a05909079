"""Preference pairs of trajectory segments (AIHF, RLHF reward models).

Built as in the AIHF paper (App. A.2.1, following Brown et al. 2019): trajectories rolled out from
the checkpoints of one training run are split into low / medium / high quality by true return;
pairs of segments are drawn from the chosen tiers (by default low and medium: the high tier is the
demonstration data) and labelled by their true segment returns, either deterministically (the
higher return wins) or by sampling the Bradley-Terry model ``P(a > b) = sigmoid((R_a - R_b) / beta)``.

File (HDF5): ``obs_a``/``obs_b`` ``(P, L, obs)``, ``act_a``/``act_b`` ``(P, L, act)``,
``next_obs_a``/``next_obs_b`` ``(P, L, obs)`` (so that r(s, a, s') rewards read pairs too),
``return_a``/``return_b`` ``(P,)`` true segment returns, ``label`` ``(P,)`` = 1 when segment a is
preferred, 0 when b is, ``tier_a``/``tier_b`` ``(P,)`` (0 low, 1 medium, 2 high); attributes:
env id, segment length, tier boundaries, label mode, sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from lit_irl.data.d4rl import TransitionData, write_hdf5
from lit_irl.errors import LitIRLError

TIERS = ("low", "medium", "high")
PREFERENCE_KEYS = ("obs_a", "act_a", "obs_b", "act_b", "return_a", "return_b", "label", "tier_a", "tier_b")
NEXT_OBS_KEYS = ("next_obs_a", "next_obs_b")  # absent from files written before r(s, a, s') rewards read pairs


@dataclass
class PreferencePairs:
    obs_a: np.ndarray
    act_a: np.ndarray
    obs_b: np.ndarray
    act_b: np.ndarray
    return_a: np.ndarray
    return_b: np.ndarray
    label: np.ndarray
    tier_a: np.ndarray
    tier_b: np.ndarray
    next_obs_a: np.ndarray | None = None
    next_obs_b: np.ndarray | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.label)

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in (*PREFERENCE_KEYS, *NEXT_OBS_KEYS) if getattr(self, k) is not None}

    def label_agreement(self) -> float:
        """Share of pairs whose label agrees with the two segments' true returns (ties count for a)."""
        return float(((self.return_a >= self.return_b) == (self.label == 1)).mean())

    def winner_returns(self) -> tuple[float, float]:
        """Mean true segment return of the preferred and of the rejected segments."""
        a_wins = self.label == 1
        return float(np.where(a_wins, self.return_a, self.return_b).mean()), float(np.where(a_wins, self.return_b, self.return_a).mean())


def tier_of(returns: np.ndarray, quantiles: Sequence[float], tier_returns: Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Tier (0 low, 1 medium, 2 high) of each return, split at the given return quantiles, or at the
    returns ``tier_returns`` (e.g. fractions of the expert's: the AIHF paper's quality classes): two
    bounds, or three, the first a floor under which a trajectory is in no tier (-1)."""
    if tier_returns is not None:
        if len(tier_returns) not in (2, 3) or list(tier_returns) != sorted(set(tier_returns)):
            raise LitIRLError(f"tier returns must be 2 or 3 increasing returns ([floor,] low/medium, medium/high), got {list(tier_returns)}")
        bounds = np.asarray(tier_returns, dtype=np.float64)
        if len(bounds) == 3:
            return np.searchsorted(bounds, returns, side="right") - 1, bounds[1:]
    else:
        if len(quantiles) != 2 or not 0 < quantiles[0] < quantiles[1] < 1:
            raise LitIRLError(f"quantiles must be two increasing numbers in (0, 1), got {list(quantiles)}")
        bounds = np.quantile(returns, quantiles)
    return np.searchsorted(bounds, returns, side="right"), bounds


def label_pairs(
    return_a: np.ndarray, return_b: np.ndarray, mode: Literal["deterministic", "bradley-terry", "tier"], temperature: float, rng: np.random.Generator,
    tier_a: np.ndarray | None = None, tier_b: np.ndarray | None = None,
) -> np.ndarray:
    """1.0 where segment a is preferred. Deterministic ties go to a; ``tier``: the segment of the
    better trajectory class wins (the AIHF paper's reading of its data: winners from the medium
    class, losers from the low one), ties by segment return."""
    if mode == "tier":
        if tier_a is None or tier_b is None:
            raise LitIRLError("label mode tier needs the segments' tiers")
        return np.where(tier_a != tier_b, tier_a > tier_b, return_a >= return_b).astype(np.float32)
    if mode == "deterministic":
        return (return_a >= return_b).astype(np.float32)
    if mode == "bradley-terry":
        if temperature <= 0:
            raise LitIRLError(f"temperature must be > 0 for Bradley-Terry labels, got {temperature}")
        # sigmoid written with tanh: no overflow for large return gaps
        p_a = 0.5 * (1.0 + np.tanh((return_a - return_b) / (2.0 * temperature)))
        return (rng.random(len(p_a)) < p_a).astype(np.float32)
    raise LitIRLError(f"label mode must be deterministic, bradley-terry or tier, got {mode!r}")


def build_pairs(
    episodes: list[TransitionData],
    *,
    segment_length: int,
    pairs: int,
    quantiles: Sequence[float] = (1 / 3, 2 / 3),
    pair_tiers: Sequence[str] = ("low", "medium"),
    label: Literal["deterministic", "bradley-terry", "tier"] = "deterministic",
    temperature: float = 1.0,
    seed: int = 0,
    tier_returns: Sequence[float] | None = None,
    pairing: Literal["within", "across"] = "within",
) -> PreferencePairs:
    """Pairs of segments from two different trajectories of the chosen tiers, labelled by ``label``.

    ``pairing: within`` draws both segments from the pooled tiers; ``across`` draws segment a from
    the higher and segment b from the lower of the two ``pair_tiers`` (every pair compares the
    classes: the AIHF paper's non-preferred vs preferred data)."""
    if segment_length <= 0 or pairs <= 0:
        raise LitIRLError(f"segment_length and pairs must be > 0, got {segment_length} and {pairs}")
    unknown = [t for t in pair_tiers if t not in TIERS]
    if unknown:
        raise LitIRLError(f"unknown tier(s) {unknown}; choose from {TIERS}")
    returns = np.array([e.rewards.sum() for e in episodes], dtype=np.float64)
    tiers, bounds = tier_of(returns, quantiles, tier_returns)
    if pairing not in ("within", "across"):
        raise LitIRLError(f"pairing must be within or across, got {pairing!r}")
    wanted = sorted({TIERS.index(t) for t in pair_tiers})
    if pairing == "across" and len(wanted) != 2:
        raise LitIRLError(f"pairing across compares two tiers; got pair tiers {list(pair_tiers)}")

    def pool_of(chosen: Sequence[int]) -> list[int]:
        pool = [i for i, e in enumerate(episodes) if tiers[i] in chosen and len(e) >= segment_length]
        if len(pool) < (1 if pairing == "across" else 2):
            names = [TIERS[t] for t in chosen]
            counts = {TIERS[t]: int((tiers == t).sum()) for t in range(3)}
            raise LitIRLError(
                f"only {len(pool)} trajectories of tiers {names} are at least {segment_length} steps long (trajectories per tier: "
                f"{counts}, bounds {np.round(bounds, 1).tolist()}); collect more episodes per checkpoint, shorten --segment-length "
                "or move the tier bounds"
            )
        return pool

    rng = np.random.default_rng(seed)
    if pairing == "across":
        first, second = rng.choice(pool_of(wanted[1:]), size=pairs), rng.choice(pool_of(wanted[:1]), size=pairs)
    else:
        pool = pool_of(wanted)
        first = rng.choice(pool, size=pairs)
        second = rng.choice(pool, size=pairs)
        same = first == second
        while same.any():  # a pair compares two different trajectories
            second[same] = rng.choice(pool, size=int(same.sum()))
            same = first == second

    def segments(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        obs, act, next_obs, ret = [], [], [], []
        for i in indices:
            episode = episodes[i]
            start = rng.integers(0, len(episode) - segment_length + 1)
            rows = slice(start, start + segment_length)
            obs.append(episode.observations[rows])
            act.append(episode.actions[rows])
            next_obs.append(episode.next_observations[rows])
            ret.append(episode.rewards[rows].sum())
        return np.stack(obs), np.stack(act), np.stack(next_obs), np.array(ret, dtype=np.float64)

    obs_a, act_a, next_obs_a, return_a = segments(first)
    obs_b, act_b, next_obs_b, return_b = segments(second)
    labels = label_pairs(return_a, return_b, label, temperature, rng, tiers[first], tiers[second])
    attrs = {
        "segment_length": segment_length,
        "quantiles": np.asarray(quantiles, dtype=np.float64),
        "tier_bounds": bounds,
        "pair_tiers": ",".join(pair_tiers),
        "pairing": pairing,
        "label_mode": label,
        "temperature": temperature,
        "seed": seed,
        "tier_mean_returns": np.array([returns[tiers == t].mean() if (tiers == t).any() else np.nan for t in range(3)]),
        "tier_std_returns": np.array([returns[tiers == t].std() if (tiers == t).any() else np.nan for t in range(3)]),
    }
    return PreferencePairs(obs_a, act_a, obs_b, act_b, return_a, return_b, labels, tiers[first], tiers[second], next_obs_a, next_obs_b, attrs)


def save_preferences(path: str | Path, data: PreferencePairs, attrs: dict[str, Any] | None = None) -> Path:
    """Write preference pairs as HDF5, atomically (see :func:`lit_irl.data.d4rl.write_hdf5`)."""
    return write_hdf5(path, data.arrays(), {"kind": "preferences", **data.attrs, **(attrs or {})})


def load_preferences(path: str | Path, obs_dim: int | None = None, act_dim: int | None = None) -> PreferencePairs:
    import h5py

    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise LitIRLError(f"preference file {path}: missing or empty; build it with `lit-irl-data preferences`")
    try:
        with h5py.File(path, "r") as f:
            missing = [k for k in PREFERENCE_KEYS if k not in f]
            if missing:
                raise LitIRLError(f"preference file {path}: missing key(s) {', '.join(missing)}")
            arrays = {k: f[k][()] for k in (*PREFERENCE_KEYS, *NEXT_OBS_KEYS) if k in f}
            attrs = dict(f.attrs.items())
    except LitIRLError:
        raise
    except Exception as error:
        raise LitIRLError(f"preference file {path}: truncated or corrupt HDF5 ({type(error).__name__}); rebuild it") from None
    n = len(arrays["label"])
    if n == 0 or any(len(v) != n for v in arrays.values()):
        raise LitIRLError(f"preference file {path}: empty or keys of different lengths")
    for key in ("obs_a", "obs_b", "act_a", "act_b", "return_a", "return_b", *(k for k in NEXT_OBS_KEYS if k in arrays)):
        if not np.isfinite(arrays[key]).all():
            raise LitIRLError(f"preference file {path}: {key} holds NaN or inf")
    if not np.isin(arrays["label"], (0.0, 1.0)).all():
        raise LitIRLError(f"preference file {path}: labels must be 0 or 1")
    if obs_dim is not None and arrays["obs_a"].shape[-1] != obs_dim:
        raise LitIRLError(f"preference file {path}: observations have {arrays['obs_a'].shape[-1]} dims, the env has {obs_dim}")
    if act_dim is not None and arrays["act_a"].shape[-1] != act_dim:
        raise LitIRLError(f"preference file {path}: actions have {arrays['act_a'].shape[-1]} dims, the env has {act_dim}")
    return PreferencePairs(**arrays, attrs=attrs)
