"""Checkpoint files: written atomically, read with one clear error when missing or damaged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from lit_irl.errors import LitIRLError
from lit_irl.files import atomic_write


class AtomicCheckpointIO(TorchCheckpointIO):
    """``torch.save`` through :func:`lit_irl.files.atomic_write`: a crash (or SIGKILL) while
    writing leaves the previous checkpoint intact and no partial file."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None) -> None:
        with atomic_write(path) as tmp:
            torch.save(checkpoint, tmp)

    def load_checkpoint(self, path: str | Path, map_location: Any | None = None, weights_only: bool | None = None) -> dict[str, Any]:
        state = load_checkpoint_file(path, map_location)
        if not isinstance(state, dict) or "pytorch-lightning_version" not in state or "state_dict" not in state:
            what = "an exported policy (actor weights only)" if isinstance(state, dict) and str(state.get("format", "")).startswith("lit_irl.policy") else "not a Lightning checkpoint"
            raise LitIRLError(
                f"--ckpt_path {path} is {what}: training resumes from a run's checkpoint "
                f"(runs/<run>/checkpoints/last.ckpt); roll out or evaluate an exported policy with lit-irl-data instead"
            )
        return state


def load_checkpoint_file(path: str | Path, map_location: Any | None = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise LitIRLError(f"checkpoint {path} does not exist; check the path (runs keep theirs in <run>/checkpoints/)")
    try:
        # Our checkpoints hold numpy RNG states and replay tensordicts: full unpickling is needed.
        return torch.load(path, map_location=map_location or "cpu", weights_only=False)
    except Exception as error:  # torch raises several types for a damaged zip/pickle
        raise LitIRLError(
            f"checkpoint {path} is truncated or corrupt ({type(error).__name__}); "
            f"resume from another checkpoint in {path.parent} or start without --ckpt_path"
        ) from None


def compact_checkpoint(source: str | Path, target: str | Path, replay_rows: int = 0) -> int:
    """Write ``source`` to ``target`` without the bulk of its collection state.

    ``replay_rows = 0``: without any collection state (replay buffer, env and RNG states); what is
    left (networks, optimizers, counters: a few MB instead of hundreds) resumes with ``--ckpt_path
    target``, the replay buffer refilling with the current policy for ``warmup_steps`` before updates
    continue. ``replay_rows > 0``: the env, RNG and episode state stay, and every replay buffer keeps
    its ``replay_rows`` most recent transitions. Neither is bit-identical; both are meant for carrying
    long runs across machines or sessions where the full checkpoint cannot travel. The second is
    the one to carry SAC runs with: after a refill of 1,000 steps the first updates keep drawing the
    same few transitions, and two ML-IRL Hopper runs resumed that way at 560k fell (Q-values up 7%,
    critic loss 0.4 -> 11, training return 2090 -> 256 within 25k steps; ``results/history.md``).
    Returns its progress (env steps, or gradient steps for offline learners).
    """
    from lit_irl.data.replay import TransitionReplay

    if replay_rows < 0:
        raise LitIRLError(f"replay_rows must be >= 0 (0: no collection state), got {replay_rows}")
    state = load_checkpoint_file(source)
    if replay_rows == 0:
        state.pop("collection", None)
    else:
        for rank_state in state.get("collection") or []:
            for key, value in rank_state.items():
                if TransitionReplay.is_state(value):
                    rank_state[key] = TransitionReplay.recent_state(value, replay_rows)
    AtomicCheckpointIO().save_checkpoint(state, target)
    unit = state.get("lit_irl", {}).get("progress_unit", "env_steps")
    return int(state["state_dict"][unit])
