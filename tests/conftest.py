from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
PENDULUM = str(ROOT / "configs/sac/inverted_pendulum.yaml")

torch.set_num_threads(1)


def run_cli(*args: str, cwd: Path | None = None, check: bool = True, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``lit-irl`` as a user would, with tests/ importable for test-only callbacks."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "lit_irl.cli", *args], cwd=cwd or ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(f"lit-irl {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return result


def tiny_args(config: str, save_dir: Path, total: int, warmup: int, log_every: int) -> list[str]:
    """Any online algorithm with budgets small enough for a test (seconds): small nets, few episodes."""
    return [
        "--config", config,
        "--model.init_args.training.total_steps", str(total),
        "--model.init_args.off_policy.warmup_steps", str(warmup),
        "--model.init_args.sac.batch_size", "64",
        "--model.init_args.sac.actor_hidden", "[32, 32]",
        "--model.init_args.sac.critic_hidden", "[32, 32]",
        "--model.init_args.training.eval_episodes", "2",
        "--model.init_args.training.log_every", str(log_every),
        "--checkpoint.every_n_steps", str(total // 2),
        "--evaluation.every_n_steps", str(total // 2),
        "--trainer.enable_progress_bar", "false",
        "--trainer.logger.init_args.save_dir", str(save_dir),
    ]


def tiny_sac_args(save_dir: Path, total: int = 600, warmup: int = 200) -> list[str]:
    """SAC on InvertedPendulum-v5."""
    return tiny_args(PENDULUM, save_dir, total, warmup, log_every=100)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs"
