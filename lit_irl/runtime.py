"""Process-wide settings, all in one place: threads, random streams, known-harmless warnings.

Called by every learner's ``setup`` (and by the CLI before anything runs); each is idempotent.
"""

from __future__ import annotations

import logging
import os
import random
import warnings

import numpy as np
import torch

# Warnings that concern no user of lit_irl, silenced where they arise (message patterns):
KNOWN_HARMLESS_WARNINGS = (
    # Our data come from envs inside training_step: the DataLoader yields only batch indices.
    ".*does not have many workers.*",
    # The validation loader is empty during fit by design (the Evaluation callback evaluates).
    ".*Total length of `DataLoader` across ranks is zero.*",
    # Lightning's own use of a deprecated torch API, not ours.
    ".*isinstance\\(treespec, LeafSpec\\)` is deprecated.*",
    # Resuming a run into another folder (benchmarks carried across machines): our checkpoint
    # callback does not use the best-model bookkeeping it talks about.
    ".*The dirpath has changed from.*",
)


def configure_threads() -> None:
    """One intra-op thread unless ``OMP_NUM_THREADS`` says otherwise.

    Measured on 2 cores (SAC update, (256, 256), batch 256): 2 threads are 1.4x faster on an idle
    machine but 35x slower while one other busy process shares the cores (OpenMP threads wait on
    each other); the safe default costs little, the other one can cost everything.
    """
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(1)


# Log lines of Lightning's that are not about the run: an advertisement for a logging service.
KNOWN_NOISE_LOG_LINES = ("litlogger",)


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(noise in message for noise in KNOWN_NOISE_LOG_LINES)


def silence_known_warnings() -> None:
    """Silence what concerns no user of lit_irl (listed above), at the source: warnings filters and
    a filter on Lightning's console log handlers."""
    for pattern in KNOWN_HARMLESS_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)
    for handler in logging.getLogger("lightning.pytorch").handlers:
        if not any(isinstance(f, _DropNoise) for f in handler.filters):
            handler.addFilter(_DropNoise())


def seed_learner_streams(seed: int) -> None:
    """The learner's random streams (replay and minibatch sampling, update noise): torch, numpy, python."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def rng_states() -> dict:
    return {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
        # update noise on a GPU comes from the CUDA generators
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None,
    }


def restore_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])
    cuda_states = states.get("cuda")
    if cuda_states is not None and torch.cuda.is_available() and len(cuda_states) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda_states)
