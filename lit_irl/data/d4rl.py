"""The one on-disk format of lit_irl: D4RL-compatible HDF5, read with validation, written atomically.

Layout (as D4RL v2): ``observations (N, obs)``, ``actions (N, act)``, ``rewards (N,)``,
``terminals (N,)``, ``timeouts (N,)``, ``next_observations (N, obs)`` and optional ``infos/*``
(``infos/qpos``, ``infos/qvel``, ...). Episode ``i`` ends at a row where ``terminals`` or
``timeouts`` is true. Files written by lit_irl also carry root attributes: ``env_id``,
``env_version``, ``source_policy``, ``seed``, ``episode_returns``, ``creation_command``,
``lit_irl_version`` (and any extra the writer gives). Real D4RL files load unchanged; files
without ``next_observations`` (D4RL v0/v1) get them from the following row within an episode.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lit_irl.errors import LitIRLError
from lit_irl.files import atomic_write

REQUIRED_KEYS = ("observations", "actions", "rewards", "terminals", "timeouts")


@dataclass
class TransitionData:
    """A validated dataset: arrays of equal length N and the file's attributes."""

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminals: np.ndarray
    timeouts: np.ndarray
    next_observations: np.ndarray
    infos: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)
    path: str = "<memory>"

    def __len__(self) -> int:
        return len(self.rewards)

    @property
    def obs_dim(self) -> int:
        return self.observations.shape[1]

    @property
    def act_dim(self) -> int:
        return self.actions.shape[1]

    def episode_bounds(self) -> list[tuple[int, int]]:
        """``(start, stop)`` of every complete episode (an unfinished tail is left out)."""
        ends = np.flatnonzero(self.terminals | self.timeouts)
        starts = np.concatenate([[0], ends[:-1] + 1]) if len(ends) else np.array([], dtype=int)
        return [(int(s), int(e) + 1) for s, e in zip(starts, ends)]

    def episode_returns(self) -> np.ndarray:
        return np.array([self.rewards[s:e].sum() for s, e in self.episode_bounds()], dtype=np.float64)

    def select(self, rows: np.ndarray | slice) -> TransitionData:
        return TransitionData(
            self.observations[rows],
            self.actions[rows],
            self.rewards[rows],
            self.terminals[rows],
            self.timeouts[rows],
            self.next_observations[rows],
            {k: v[rows] for k, v in self.infos.items()},
            dict(self.attrs),
            self.path,
        )

    def first_episodes(self, n: int) -> TransitionData:
        bounds = self.episode_bounds()
        if n > len(bounds):
            raise LitIRLError(f"{self.path}: asked for {n} episodes, the file has {len(bounds)} complete ones")
        return self.select(slice(0, bounds[n - 1][1]))

    def as_arrays(self) -> dict[str, np.ndarray]:
        arrays = {
            "observations": self.observations,
            "actions": self.actions,
            "rewards": self.rewards,
            "terminals": self.terminals,
            "timeouts": self.timeouts,
            "next_observations": self.next_observations,
        }
        arrays.update({f"infos/{k}": v for k, v in self.infos.items()})
        return arrays


def concatenate(parts: list[TransitionData], attrs: Mapping[str, Any]) -> TransitionData:
    """Datasets one after the other (e.g. medium-expert = medium + expert).

    A part that ends inside an episode gets a timeout on its last row, so that its unfinished tail
    is not read as the start of the next part's first episode.
    """
    info_keys = set.intersection(*(set(p.infos) for p in parts)) if parts else set()
    timeouts = [p.timeouts.copy() for p in parts]
    for part, part_timeouts in zip(parts[:-1], timeouts[:-1]):
        if len(part) and not (part.terminals[-1] or part.timeouts[-1]):
            part_timeouts[-1] = True
    return TransitionData(
        *(np.concatenate([getattr(p, key) for p in parts]) for key in ("observations", "actions", "rewards", "terminals")),
        np.concatenate(timeouts),
        np.concatenate([p.next_observations for p in parts]),
        infos={k: np.concatenate([p.infos[k] for p in parts]) for k in info_keys},
        attrs=dict(attrs),
    )


def creation_command() -> str:
    return " ".join(shlex.quote(a) for a in [Path(sys.argv[0]).name, *sys.argv[1:]])


def write_hdf5(path: str | Path, arrays: Mapping[str, np.ndarray], attrs: Mapping[str, Any]) -> Path:
    """Write ``arrays`` (``/``-separated keys become groups) and ``attrs`` to a temporary file beside
    ``path``, then rename it into place.

    Arrays over 100k values are gzip-compressed with the byte-shuffle filter: float observations with
    many exact zeros (Ant's contact forces) shrink about 4x, plain float arrays about 10%.
    """
    import h5py

    from lit_irl import __version__

    with atomic_write(path) as tmp, h5py.File(tmp, "w") as f:
        for key, value in arrays.items():
            large = value.size > 100_000
            f.create_dataset(key, data=value, compression="gzip" if large else None, shuffle=large)
        for key, value in {"lit_irl_version": __version__, "creation_command": creation_command(), **attrs}.items():
            f.attrs[key] = value if value is not None else "none"
    return Path(path)


def save_dataset(path: str | Path, data: TransitionData, attrs: Mapping[str, Any] | None = None) -> Path:
    """Write ``data`` as D4RL HDF5, atomically (see :func:`write_hdf5`)."""
    all_attrs = {**data.attrs, **(attrs or {})}
    all_attrs.setdefault("episode_returns", data.episode_returns())
    return write_hdf5(path, data.as_arrays(), all_attrs)


def _fail(path: Path, problem: str) -> LitIRLError:
    return LitIRLError(f"dataset {path}: {problem}")


def load_dataset(
    path: str | Path,
    env_id: str | None = None,
    obs_dim: int | None = None,
    act_dim: int | None = None,
    require_complete_episode: bool = True,
) -> TransitionData:
    """Read and validate a D4RL-format HDF5 file, or a local Minari dataset given as
    ``minari:<dataset id>`` (:func:`load_minari`); every problem is one :class:`LitIRLError` line.

    ``obs_dim``/``act_dim`` are those of the env the config names; ``env_id`` is compared with
    the file's ``env_id`` attribute when it has one.
    """
    import h5py

    if str(path).startswith(MINARI_PREFIX):
        dataset_id = str(path)[len(MINARI_PREFIX) :]
        return _checked(load_minari(dataset_id), Path(str(path)), env_id, obs_dim, act_dim, require_complete_episode)
    path = Path(path)
    if not path.is_file():
        raise _fail(path, "file does not exist; generate it with `lit-irl-data` or check the path")
    if path.stat().st_size == 0:
        raise _fail(path, "file is empty; regenerate it with `lit-irl-data`")
    try:
        with h5py.File(path, "r") as f:
            missing = [k for k in REQUIRED_KEYS if k not in f]
            if missing:
                raise _fail(path, f"missing key(s) {', '.join(missing)}; a D4RL file needs {', '.join(REQUIRED_KEYS)}")
            arrays = {k: f[k][()] for k in (*REQUIRED_KEYS, "next_observations") if k in f}
            infos = {}
            if "infos" in f and isinstance(f["infos"], h5py.Group):
                infos = {k: f["infos"][k][()] for k in f["infos"] if isinstance(f["infos"][k], h5py.Dataset)}
            attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    except LitIRLError:
        raise
    except Exception as error:  # h5py raises OSError/KeyError/RuntimeError for damaged files
        raise _fail(path, f"truncated or corrupt HDF5 ({type(error).__name__}: {str(error)[:80]}); regenerate it") from None

    n = len(arrays["rewards"])
    if n == 0:
        raise _fail(path, "holds no transitions")
    lengths = {k: len(v) for k, v in arrays.items()} | {f"infos/{k}": len(v) for k, v in infos.items()}
    if len(set(lengths.values())) > 1:
        raise _fail(path, "length mismatch between keys: " + ", ".join(f"{k}={v}" for k, v in lengths.items()))
    observations = np.asarray(arrays["observations"], dtype=np.float32).reshape(n, -1)
    actions = np.asarray(arrays["actions"], dtype=np.float32).reshape(n, -1)
    rewards = np.asarray(arrays["rewards"], dtype=np.float32).reshape(n)
    terminals = np.asarray(arrays["terminals"]).astype(bool).reshape(n)
    timeouts = np.asarray(arrays["timeouts"]).astype(bool).reshape(n)
    _check_values(path, observations, actions, rewards, attrs, env_id, obs_dim, act_dim)

    if "next_observations" in arrays:
        next_observations = np.asarray(arrays["next_observations"], dtype=np.float32).reshape(n, -1)
        if next_observations.shape != observations.shape:
            raise _fail(path, f"next_observations have shape {next_observations.shape}, observations {observations.shape}")
    else:
        # D4RL v0/v1 (as d4rl.qlearning_dataset): the next observation is the next row's; a timeout
        # row has no known successor and is dropped, its predecessor then ends the episode. The row
        # after a terminal is the next episode's reset, not the successor (the state after the fall
        # was never recorded): a terminal row keeps its own observation as next, like the file's
        # last row, rather than a state from another episode.
        next_observations = np.concatenate([observations[1:], observations[-1:]])
        next_observations[terminals] = observations[terminals]
        keep = ~timeouts
        keep[-1] &= terminals[-1]
        truncated_next = np.r_[timeouts[1:], False]
        observations, actions, rewards = observations[keep], actions[keep], rewards[keep]
        terminals, timeouts, next_observations = terminals[keep], truncated_next[keep], next_observations[keep]
        infos = {k: v[keep] for k, v in infos.items()}
    data = TransitionData(observations, actions, rewards, terminals, timeouts, next_observations, infos, attrs, str(path))
    if require_complete_episode and not data.episode_bounds():
        raise _fail(path, "contains no complete episode (no row with terminals or timeouts set)")
    return data


MINARI_PREFIX = "minari:"


def _check_values(path: Path, observations: np.ndarray, actions: np.ndarray, rewards: np.ndarray, attrs: dict, env_id: str | None,
                  obs_dim: int | None, act_dim: int | None) -> None:
    for name, value in (("observations", observations), ("actions", actions), ("rewards", rewards)):
        bad = ~np.isfinite(value)
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise _fail(path, f"{name} holds NaN or inf ({int(bad.sum())} values, first at row {row})")
    if env_id is not None and "env_id" in attrs and attrs["env_id"] not in (env_id, "unknown"):
        raise _fail(path, f"was made for {attrs['env_id']}, the config names {env_id}; use a dataset of {env_id}")
    if obs_dim is not None and observations.shape[1] != obs_dim:
        raise _fail(path, f"observations have {observations.shape[1]} dims, the env has {obs_dim}; use a dataset of the configured env")
    if act_dim is not None and actions.shape[1] != act_dim:
        raise _fail(path, f"actions have {actions.shape[1]} dims, the env has {act_dim}; use a dataset of the configured env")


def _checked(data: TransitionData, path: Path, env_id: str | None, obs_dim: int | None, act_dim: int | None,
             require_complete_episode: bool) -> TransitionData:
    """The checks of :func:`load_dataset` on data read by another reader (Minari)."""
    if len(data) == 0:
        raise _fail(path, "holds no transitions")
    _check_values(path, data.observations, data.actions, data.rewards, data.attrs, env_id, obs_dim, act_dim)
    data.path = str(path)
    if require_complete_episode and not data.episode_bounds():
        raise _fail(path, "contains no complete episode (no row with terminals or timeouts set)")
    return data


def load_minari(dataset_id: str) -> TransitionData:
    """A local Minari dataset (``pip install lit_irl[minari]``; found under ``MINARI_DATASETS_PATH``)."""
    try:
        import minari
    except ImportError:
        raise LitIRLError(f"reading Minari dataset {dataset_id!r} needs minari: pip install 'lit_irl[minari]'") from None
    try:
        dataset = minari.load_dataset(dataset_id)
    except Exception as error:
        raise LitIRLError(f"Minari dataset {dataset_id!r} not found locally ({error}); download it with `minari download` first") from None
    parts = []
    for episode in dataset.iterate_episodes():
        obs = np.asarray(episode.observations, dtype=np.float32)
        steps = len(episode.actions)
        terminals = np.asarray(episode.terminations, dtype=bool)
        timeouts = np.asarray(episode.truncations, dtype=bool) & ~terminals
        parts.append(
            TransitionData(
                obs[:steps], np.asarray(episode.actions, dtype=np.float32).reshape(steps, -1), np.asarray(episode.rewards, dtype=np.float32),
                terminals, timeouts, obs[1 : steps + 1],
            )
        )
    env_id = getattr(dataset.spec, "env_spec", None)
    return concatenate(parts, {"env_id": getattr(env_id, "id", "unknown"), "source": f"minari:{dataset_id}"})
