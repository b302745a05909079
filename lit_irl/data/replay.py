"""Transition replay on TorchRL's ``TensorDictReplayBuffer`` with a compact, exact ``state_dict``.

Keys of a transition: ``obs``, ``action``, ``next_obs``, ``true_reward`` (the env's, recorded
always), ``terminated`` (bootstrapping stops) and ``done`` (the episode ended: terminated or
truncated). When the env reward is hidden, :meth:`TransitionReplay.sample` leaves ``true_reward``
out, so a learner cannot train on it by accident; metrics ask for it explicitly. Every batch put
in the buffer (collected, model-generated, from a dataset) has exactly these keys, so that batches
of any origin concatenate.
"""

from __future__ import annotations

from typing import Any

import torch
from tensordict import TensorDict, TensorDictBase
from torchrl.data import LazyTensorStorage, TensorDictReplayBuffer

from lit_irl.errors import LitIRLError, check_positive

TRANSITION_KEYS = ("obs", "action", "next_obs", "true_reward", "terminated", "done")


class TransitionReplay:
    """Uniform replay of single-step transitions."""

    def __init__(self, capacity: int, hide_true_reward: bool = False, keys: tuple[str, ...] = TRANSITION_KEYS) -> None:
        check_positive(buffer_size=capacity)
        self.capacity = capacity
        self.keys = keys  # model rollouts (MOPO) carry their own: no env reward, a penalty
        self.hide_true_reward = hide_true_reward
        self.buffer = TensorDictReplayBuffer(storage=LazyTensorStorage(capacity))

    def __len__(self) -> int:
        return len(self.buffer)

    def extend(self, transitions: TensorDictBase) -> None:
        keys = set(transitions.keys())
        if keys != set(self.keys):
            missing, extra = sorted(set(self.keys) - keys), sorted(keys - set(self.keys))
            raise LitIRLError(
                f"transitions for the replay buffer must have the keys {', '.join(self.keys)} "
                f"(missing: {', '.join(missing) or 'none'}; unknown: {', '.join(extra) or 'none'})"
            )
        self.buffer.extend(transitions)

    @property
    def storage(self):
        return self.buffer.storage

    def sample(self, batch_size: int, include_true_reward: bool = False) -> TensorDictBase:
        """``batch_size`` transitions drawn uniformly with replacement.

        The same draw as ``TensorDictReplayBuffer.sample`` (one ``torch.randint`` over the filled
        length, from the storage's generator), gathered key by key: TorchRL's path through its
        sampler, writer hooks and a TensorDict index costs 2.4x as much (574 vs 240 us per 256
        Hopper transitions, 1 thread), up to a tenth of an off-policy run's time. ``index_select``
        rather than ``tensor[index]``: CPU advanced indexing is 2.6x slower for these rows (200 vs
        77 us for the five keys of a Hopper batch), the same rows.
        """
        storage = self.buffer.storage
        if len(storage) == 0:
            raise LitIRLError("the replay buffer is empty: extend it with transitions before sampling")
        index = torch.randint(0, len(storage), (batch_size,), generator=storage._rng, device=storage.device)
        keys = [key for key in self.keys if key != "true_reward" or include_true_reward or not self.hide_true_reward]
        rows = storage._storage
        return TensorDict({key: rows.get(key).index_select(0, index) for key in keys}, batch_size=[batch_size], device=rows.device)

    def state_dict(self) -> dict:
        """Only the filled part of the storage (TorchRL's own saves the whole preallocated capacity).

        The copy matters: a slice is a view, and ``torch.save`` of a view writes the whole underlying
        storage (measured: 1k of 100k rows, 20.8 MB as a view, 0.21 MB copied).
        """
        n = len(self.buffer)
        data = self.buffer.storage[:n].exclude("index").clone() if n else None
        writer = self.buffer._writer  # TorchRL keeps the write position here; it is part of exact resume
        return {"data": data, "cursor": writer._cursor, "write_count": writer._write_count, "capacity": self.capacity}

    @staticmethod
    def is_state(value: Any) -> bool:
        """Whether ``value`` is what :meth:`state_dict` returns (checkpoint tools find buffers by it)."""
        return isinstance(value, dict) and {"data", "cursor", "write_count", "capacity"} <= value.keys()

    @staticmethod
    def recent_state(state: dict, rows: int) -> dict:
        """``state`` (from :meth:`state_dict`) holding only its ``rows`` most recently written
        transitions, in write order: what a carried checkpoint keeps of a buffer (see
        :func:`lit_irl.checkpoint_io.compact_checkpoint`)."""
        data = state["data"]
        filled = 0 if data is None else len(data)
        if filled <= rows:
            return state
        # Write order starts at the cursor once the ring has wrapped; before that the cursor is the fill level.
        index = (state["cursor"] + torch.arange(filled - rows, filled)) % filled
        return {**state, "data": data[index].clone(), "cursor": rows, "write_count": rows,
                "recent_of": state.get("recent_of", state["write_count"])}  # fmt: skip

    def load_state_dict(self, state: dict) -> None:
        if state["capacity"] != self.capacity:
            raise LitIRLError(
                f"the checkpoint's replay buffer holds up to {state['capacity']} transitions, this config's buffer_size "
                f"is {self.capacity}; resume with buffer_size {state['capacity']} (the run folder's config.yaml has it)"
            )
        self.buffer.empty()
        if state["data"] is not None:
            self.buffer.extend(state["data"])
        self.buffer._writer._cursor = state["cursor"]
        self.buffer._writer._write_count = state["write_count"]

