"""Offline learners: they learn from a fixed dataset and step a real env only to evaluate.

Progress is counted in gradient steps (under DDP every rank makes the same step on its own
minibatch, and it counts once). One ``training_step`` makes up to ``GRADIENT_STEPS_PER_BATCH`` of
them: Lightning's per-batch machinery costs about as much as one small gradient step, and the
schedules (logging, evaluation, checkpoints) still fall on any multiple of a step. Minibatches are
drawn in ``training_step`` from data held by the learner with the learner's random stream, which the
checkpoint saves: a run resumed from ``last.ckpt`` continues bit-identically (a DataLoader's
iterator could not).
"""

from __future__ import annotations

import torch
from tensordict import TensorDict

from lit_irl.algos.learner import Learner

GRADIENT_STEPS_PER_BATCH = 50  # measured in tools/bench_throughput.py (--only bc)


class OfflineLearner(Learner):
    """Base of offline learners (see the module docstring)."""

    progress_unit = "gradient_steps"

    def gradient_steps_this_batch(self) -> int:
        """How many gradient steps the current ``training_step`` makes (the last one stops at the budget)."""
        return max(min(GRADIENT_STEPS_PER_BATCH, self.total_steps - self.progress), 1)

    def sample(self, data: dict[str, torch.Tensor] | TensorDict, batch_size: int) -> dict[str, torch.Tensor]:
        """A minibatch drawn uniformly with replacement, on the learner's device."""
        index = torch.randint(0, next(iter(data.values())).shape[0], (batch_size,))
        # index_select: CPU advanced indexing (value[index]) is about 2.6x slower for such rows (lit_irl/data/replay.py)
        return {key: value.index_select(0, index).to(self.device) for key, value in data.items()}

    def end_step(self, stats: dict[str, torch.Tensor], steps: int = 1) -> None:
        self.advance(steps)
        super().end_step(stats)
