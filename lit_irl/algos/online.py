"""Learners that step an env while they train: collection, its exact state, training returns.

Progress is counted in env steps, summed over DDP ranks. Each rank steps its own
``collection.num_envs`` envs with its own seed (:class:`~lit_irl.data.collect.EnvRunner`, or
TorchRL's collectors with ``collection.collector``).
"""

from __future__ import annotations

import warnings
from collections import deque
from dataclasses import dataclass
from typing import Any

from tensordict import TensorDict

from lit_irl.algos.learner import Learner, TrainingConfig
from lit_irl.data import make_runner
from lit_irl.data.collect import COLLECTORS, CollectorKind, Episode, TorchRLRunner
from lit_irl.envs import EnvConfig
from lit_irl.errors import LitIRLError, check_positive
from lit_irl.nn import Actor


@dataclass
class CollectionConfig:
    """How a learner steps its envs (per DDP rank).

    Attributes:
        env_steps_per_batch: env steps per env in one collection batch; the learner's updates follow
            each batch (SAC: one ``training_step``; PPO: the rollout of one policy iteration).
        num_envs: envs stepped together, acting with one batched forward pass (``fast`` only).
        collector: ``fast`` (in-process, exact resume), ``torchrl`` (TorchRL ``Collector``) or
            ``torchrl_multi`` (``MultiSyncCollector``, ``collector_workers`` processes).
        collector_workers: worker processes of ``torchrl_multi``.
    """

    env_steps_per_batch: int = 10
    num_envs: int = 1
    collector: CollectorKind = "fast"
    collector_workers: int = 2

    def __post_init__(self) -> None:
        check_positive(env_steps_per_batch=self.env_steps_per_batch, num_envs=self.num_envs, collector_workers=self.collector_workers)
        if self.collector not in COLLECTORS:
            raise LitIRLError(f"collector must be one of {COLLECTORS}, got {self.collector!r}")
        if self.num_envs > 1 and self.collector != "fast":
            raise LitIRLError(f"num_envs > 1 needs collector fast; TorchRL's collectors scale with collector_workers (got {self.collector})")


class OnlineLearner(Learner):
    """Base of learners that collect from their env (see the module docstring)."""

    progress_unit = "env_steps"

    def __init__(self, env: EnvConfig, training: TrainingConfig, collection: CollectionConfig, warmup_steps: int = 0) -> None:
        super().__init__(env, training)
        self.collection_config = collection
        self.warmup_steps = warmup_steps
        self.recent_episode_returns: deque[float] = deque(maxlen=20)
        self.runner = None

    @property
    def env_steps_per_batch(self) -> int:
        """Env steps of one collection batch on this rank (all its envs)."""
        return self.collection_config.env_steps_per_batch * self.collection_config.num_envs

    def setup(self, stage: str) -> None:
        super().setup(stage)
        if stage == "fit" and self.runner is None:
            c = self.collection_config
            self.runner = make_runner(
                c.collector, self.env_config, self.seed, self.global_rank, self.actor, c.env_steps_per_batch, self.warmup_steps, c.collector_workers, c.num_envs
            )

    def teardown(self, stage: str) -> None:
        if self.runner is not None:
            self.runner.close()
            self.runner = None

    def collect(self, actor: Actor | None) -> tuple[TensorDict, list[Episode]]:
        """One batch: ``(env_steps_per_batch, num_envs)`` transitions; ``actor=None``: uniform random actions."""
        transitions, episodes = self.runner.collect(self.collection_config.env_steps_per_batch, actor)
        self.advance(transitions.numel() * self.world_size)
        self.recent_episode_returns.extend(ret for ret, _ in episodes)
        return transitions, episodes

    def extra_metrics(self, elapsed: float) -> dict[str, float]:
        if not self.recent_episode_returns:
            return {}
        return {"train/episode_return": sum(self.recent_episode_returns) / len(self.recent_episode_returns)}

    def progress_postfix(self) -> dict[str, str]:
        postfix = super().progress_postfix()
        if self.recent_episode_returns:
            postfix["train_return"] = f"{self.recent_episode_returns[-1]:.0f}"
        return postfix

    # ------------------------------------------------------------ run state
    def run_state(self) -> dict[str, Any]:
        return {**super().run_state(), "runner": self.runner.state_dict(), "recent_episode_returns": list(self.recent_episode_returns)}

    def load_run_state(self, state: dict[str, Any]) -> None:
        super().load_run_state(state)
        saved_kind = state["runner"].get("kind", "fast" if "seed" in state["runner"] else "torchrl")  # older files: by their keys
        if saved_kind == self.runner.kind:
            self.runner.load_state_dict(state["runner"])
        else:
            warnings.warn(
                f"checkpoint was collected with the {saved_kind} collector, this run uses {self.runner.kind}: the learner's "
                "state and random streams resume; the collector's random stream and episodes restart"
            )
        self.recent_episode_returns.extend(state["recent_episode_returns"])

    def on_train_start(self) -> None:
        super().on_train_start()
        if isinstance(self.runner, TorchRLRunner):
            # Also when the checkpoint's runner state was skipped (other collector, other world size).
            self.runner.resume_at(self.progress // self.world_size)

