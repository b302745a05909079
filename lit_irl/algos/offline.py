"""Offline learners: they learn from a fixed dataset and step a real env only to evaluate.

Progress is counted in gradient steps (one per ``training_step``; under DDP every rank makes the
same step on its own minibatch, and it counts once). Minibatches are drawn in ``training_step``
from data held by the learner with the learner's random stream, which the checkpoint saves: a run
resumed from ``last.ckpt`` continues bit-identically (a DataLoader's iterator could not).
"""

from __future__ import annotations

import torch
from tensordict import TensorDict

from lit_irl.algos.learner import Learner


class OfflineLearner(Learner):
    """Base of offline learners (see the module docstring)."""

    progress_unit = "gradient_steps"

    def sample(self, data: TensorDict, batch_size: int) -> TensorDict:
        """A minibatch drawn uniformly with replacement, on the learner's device."""
        index = torch.randint(0, data.shape[0], (batch_size,))
        return data[index].to(self.device)

    def end_step(self, stats: dict[str, torch.Tensor]) -> None:
        self.advance(1)
        super().end_step(stats)
