"""Test-only callbacks, passed to the CLI with --trainer.callbacks+=tests.helpers.<Name>."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import torch
from lightning import Callback


class KillAfterCheckpoint(Callback):
    """SIGKILL this process at the start of the first batch after a checkpoint at ``steps`` (of the
    learner's progress unit) was written."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        last = Path(trainer.log_dir) / "checkpoints" / "last.ckpt"
        if module.progress >= self.steps and last.exists():
            os.kill(os.getpid(), signal.SIGKILL)


class TerminateAt(Callback):
    """Send this process SIGTERM during the first batch at or after ``steps`` (as a job scheduler
    would); under DDP only rank ``rank`` gets it (``-1``: every rank)."""

    def __init__(self, steps: int, rank: int = -1) -> None:
        self.steps, self.rank, self.sent = steps, rank, False

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        if self.rank not in (-1, trainer.global_rank):
            return
        if module.progress >= self.steps and not self.sent:
            self.sent = True
            os.kill(os.getpid(), signal.SIGTERM)

    def on_test_batch_start(self, trainer, module, batch, batch_idx, dataloader_idx=0) -> None:
        self.on_train_batch_start(trainer, module, batch, batch_idx)


class SaveRankParameters(Callback):
    """At the end of fit, every rank writes its parameters to ``<directory>/rank<k>.pt``."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def on_train_end(self, trainer, module) -> None:
        Path(self.directory).mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        torch.save(state, Path(self.directory) / f"rank{trainer.global_rank}.pt")
