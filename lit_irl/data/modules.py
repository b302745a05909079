"""LightningDataModules over the project's files: expert trajectories, offline transitions, preferences.

Each validates its file against the env the config names (``env``) when it is set up, and
exposes its contents both as tensors (for algorithms that sample inside ``training_step``, e.g.
ML-IRL's expert trajectories) and as an endless ``train_dataloader`` of random minibatches (for
offline algorithms such as BC or a reward model on preferences).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from lightning import LightningDataModule
from tensordict import TensorDict
from torch.utils.data import DataLoader, IterableDataset

from lit_irl.data.d4rl import TransitionData, load_dataset
from lit_irl.data.preferences import PreferencePairs, load_preferences
from lit_irl.envs import EnvConfig, probe_env
from lit_irl.errors import LitIRLError, check_positive


class RandomBatches(IterableDataset):
    """Minibatches drawn uniformly with replacement from a TensorDict, forever, from a seeded stream."""

    def __init__(self, data: TensorDict, batch_size: int, seed: int) -> None:
        self.data, self.batch_size, self.seed = data, batch_size, seed

    def __iter__(self) -> Iterator[TensorDict]:
        generator = torch.Generator().manual_seed(self.seed)
        n = self.data.shape[0]
        while True:
            yield self.data[torch.randint(0, n, (self.batch_size,), generator=generator)]


def transitions_tensordict(data: TransitionData, state_only: bool = False) -> TensorDict:
    """Rows of a dataset under the replay keys (``obs``, ``action``, ``next_obs``, ``true_reward``,
    ``terminated``, ``done``); ``state_only`` drops the actions (state-only IRL, no action labels)."""
    fields = {
        "obs": torch.from_numpy(data.observations),
        "next_obs": torch.from_numpy(data.next_observations),
        "true_reward": torch.from_numpy(data.rewards),
        "terminated": torch.from_numpy(data.terminals),
        "done": torch.from_numpy(data.terminals | data.timeouts),
    }
    if not state_only:
        fields["action"] = torch.from_numpy(data.actions)
    return TensorDict(fields, batch_size=[len(data)])


def _as_is(batch: TensorDict) -> TensorDict:
    return batch


def batches_loader(data: TensorDict, batch_size: int, seed: int) -> DataLoader:
    # Batches are already TensorDicts: no collation (torch's default_convert would take them apart).
    return DataLoader(RandomBatches(data, batch_size, seed), batch_size=None, collate_fn=_as_is)


def padded_trajectories(data: TransitionData, horizon: int, repeat_last: bool, state_only: bool = False) -> tuple[TensorDict, torch.Tensor]:
    """Complete episodes of ``data`` as a TensorDict ``(N, horizon)`` and a mask of real steps.

    Shorter episodes are padded: with ``repeat_last`` (the fixed-horizon convention) by repeating
    the final transition's next observation as a frozen state, which counts as real (mask 1), as
    the agent's fixed-horizon env does after a fall; otherwise with zeros under mask 0.
    """
    rows = transitions_tensordict(data, state_only)
    bounds = data.episode_bounds()
    if any(stop - start > horizon for start, stop in bounds):
        raise LitIRLError(f"{data.path}: an episode is longer than the horizon {horizon}; set env.max_episode_steps to match the data")
    out = rows[:1].expand(len(bounds), horizon).clone()
    mask = torch.zeros(len(bounds), horizon)
    for i, (start, stop) in enumerate(bounds):
        length = stop - start
        out[i, :length] = rows[start:stop]
        mask[i, :length] = 1.0
        if length < horizon:
            if repeat_last:
                frozen = rows[stop - 1 : stop].clone()
                frozen["obs"] = frozen["next_obs"]
                frozen["true_reward"] = torch.zeros(1)  # the env pays nothing after a fall
                out[i, length:] = frozen.expand(horizon - length)
                mask[i, length:] = 1.0
            else:
                out[i, length:] = rows[:1].expand(horizon - length).apply(torch.zeros_like)
    return out, mask


class _FileDataModule(LightningDataModule):
    def __init__(self, path: str, env: EnvConfig | None, batch_size: int, seed: int) -> None:
        super().__init__()
        check_positive(batch_size=batch_size)
        self.path, self.env, self.batch_size, self.seed = path, env, batch_size, seed

    def _dims(self) -> tuple[str | None, int | None, int | None]:
        if self.env is None:
            return None, None, None
        spec = probe_env(self.env)
        return self.env.env_id, spec.obs_dim, spec.act_dim


class ExpertDemonstrations(_FileDataModule):
    """Expert trajectories (whole episodes) from a demonstration file.

    Args:
        path: D4RL-format HDF5 written by ``lit-irl-data demos`` (or any D4RL file).
        env: the env the algorithm runs in; observation/action dims (and env id) are checked.
        num_trajectories: keep the first N complete episodes (``None``: all).
        state_only: drop actions (for state-only rewards r(s)); the batches then have no ``action``.
        other_env: the demonstrations come from another env with the same spaces (data transfer):
            dims are checked, the env id is not.
        batch_size: transitions per minibatch of ``train_dataloader``.
        seed: minibatch sampling stream.

    In an ``absorbing`` env a file of plain episodes is converted to the env's convention (the
    indicator dimension, absorbing padding to the horizon: :func:`lit_irl.data.termination.to_termination`),
    so that ``transitions`` and ``trajectories()`` look like what the learner's own env emits. Under
    ``fixed_horizon`` the rows stay the file's and :func:`padded_trajectories` freezes the last state.
    """

    def __init__(
        self,
        path: str,
        env: EnvConfig | None = None,
        num_trajectories: int | None = None,
        state_only: bool = False,
        batch_size: int = 256,
        seed: int = 0,
        other_env: bool = False,
    ) -> None:
        super().__init__(path, env, batch_size, seed)
        self.other_env = other_env
        if num_trajectories is not None and num_trajectories <= 0:
            raise LitIRLError(f"num_trajectories must be > 0 (or null for all), got {num_trajectories}; IRL needs at least one expert trajectory")
        self.num_trajectories, self.state_only = num_trajectories, state_only
        self.data: TransitionData | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.data is not None:
            return
        env_id, obs_dim, act_dim = self._dims()
        termination = self.env.termination if self.env is not None else "plain"
        raw_obs_dim = obs_dim - 1 if termination == "absorbing" and obs_dim is not None else obs_dim  # the file has no indicator
        data = load_dataset(self.path, None if self.other_env else env_id, raw_obs_dim, act_dim)
        data = data.first_episodes(self.num_trajectories) if self.num_trajectories else data.select(slice(0, data.episode_bounds()[-1][1]))
        if termination == "absorbing":
            from lit_irl.data.termination import to_termination

            data = to_termination(data, termination, probe_env(self.env).horizon)
        self.data = data
        self.transitions = transitions_tensordict(self.data, self.state_only)

    def trajectories(self) -> list[TensorDict]:
        """One TensorDict per episode, in file order."""
        return [self.transitions[start:stop] for start, stop in self.data.episode_bounds()]

    def train_dataloader(self) -> DataLoader:
        return batches_loader(self.transitions, self.batch_size, self.seed)


def expert_transitions(
    path: str, env: EnvConfig, num_trajectories: int, state_only: bool = False, other_env: bool = False
) -> tuple[TransitionData, TensorDict]:
    """The first ``num_trajectories`` episodes of a demonstration file, checked against ``env`` (and in
    its termination convention), as rows under the replay keys without the env's reward and ``done``:
    ``obs``, ``action`` (unless ``state_only``), ``next_obs``, ``terminated``. A bad file fails here,
    before any training. Returns the validated data too (evaluation and reward-recovery metrics read it).
    ``other_env``: data transfer, as :class:`ExpertDemonstrations`."""
    demos = ExpertDemonstrations(path, env, num_trajectories, state_only=state_only, other_env=other_env)
    demos.setup()
    return demos.data, demos.transitions.exclude("true_reward", "done")


class OfflineTransitions(_FileDataModule):
    """Transitions of an offline dataset (D4RL format), as minibatches.

    Args:
        path: D4RL-format HDF5 (``lit-irl-data offline`` or a real D4RL v2 file).
        env: the env the dataset must match (dims checked).
        batch_size: transitions per minibatch.
        seed: minibatch sampling stream.
    """

    def __init__(self, path: str, env: EnvConfig | None = None, batch_size: int = 256, seed: int = 0) -> None:
        super().__init__(path, env, batch_size, seed)
        self.data: TransitionData | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.data is None:
            self.data = load_dataset(self.path, *self._dims())
            self.transitions = transitions_tensordict(self.data)

    def train_dataloader(self) -> DataLoader:
        return batches_loader(self.transitions, self.batch_size, self.seed)


def pairs_tensordict(data: PreferencePairs) -> TensorDict:
    """Preference pairs as a ``(P,)`` TensorDict: ``a`` and ``b`` hold each pair's segments ``(P, L)``
    under the replay keys (``obs``, ``action``, ``next_obs`` when the file has them), so that any
    reward model reads them, and their true segment returns ``true_return`` (metrics only);
    ``label`` is 1 where segment a is preferred."""

    def side(name: str) -> TensorDict:
        fields = {"obs": getattr(data, f"obs_{name}"), "action": getattr(data, f"act_{name}"), "next_obs": getattr(data, f"next_obs_{name}")}
        segments = {k: torch.as_tensor(v).float() for k, v in fields.items() if v is not None}
        return TensorDict(segments, batch_size=segments["obs"].shape[:2])

    a, b = side("a"), side("b")
    return TensorDict(
        {"a": a, "b": b, "label": torch.as_tensor(data.label).float(),
         "true_return_a": torch.as_tensor(data.return_a).float(), "true_return_b": torch.as_tensor(data.return_b).float()},
        batch_size=[len(data)],
    )  # fmt: skip


class PreferenceData(_FileDataModule):
    """Labelled segment pairs (``lit-irl-data preferences``) as minibatches of pairs
    (:func:`pairs_tensordict`: ``a``/``b`` segments ``(B, L)`` under the replay keys, ``label``)."""

    def __init__(self, path: str, env: EnvConfig | None = None, batch_size: int = 64, seed: int = 0) -> None:
        super().__init__(path, env, batch_size, seed)
        self.pairs: TensorDict | None = None
        self.data: PreferencePairs | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.pairs is not None:
            return
        env_id, obs_dim, act_dim = self._dims()
        data = load_preferences(self.path, obs_dim, act_dim)
        if env_id is not None and data.attrs.get("env_id", env_id) != env_id:
            raise LitIRLError(f"preference file {self.path} was made for {data.attrs['env_id']}, the config names {env_id}")
        self.data, self.pairs = data, pairs_tensordict(data)

    def train_dataloader(self) -> DataLoader:
        return batches_loader(self.pairs, self.batch_size, self.seed)
