"""`make quickstart`: train SAC on InvertedPendulum-v5, evaluate it, and say where everything is.

(When ML-IRL lands, the quickstart becomes ML-IRL from the zoo's demonstrations.)
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "configs/sac/inverted_pendulum.yaml"
RUNS = ROOT / "runs" / "sac-InvertedPendulum-v5"


def lit_irl(*args: str) -> None:
    command = [sys.executable, "-m", "lit_irl.cli", *args]
    print("$ lit-irl " + " ".join(args), flush=True)
    subprocess.run(command, cwd=ROOT, check=True)


def main() -> None:
    start = time.time()
    lit_irl("fit", "--config", CONFIG)
    last = max(RUNS.glob("version_*/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
    lit_irl("test", "--config", CONFIG, "--trainer.logger", "false", "--ckpt_path", str(last.relative_to(ROOT)))
    state = torch.load(last, map_location="cpu", weights_only=False)
    steps = int(state["state_dict"]["env_steps"])
    returns = [c["last_eval_return"] for c in state.get("collection", [])]
    run = last.parent.parent.relative_to(ROOT)
    print(
        f"\nSAC on InvertedPendulum-v5: {steps:,} env steps in {time.time() - start:.0f} s; "
        f"last periodic eval return {returns[0] if returns else float('nan'):.1f} (maximum 1000).\n"
        f"  TensorBoard:  .venv/bin/tensorboard --logdir {run.parent}\n"
        f"  checkpoint:   {last.relative_to(ROOT)}\n"
        f"  continue:     .venv/bin/lit-irl fit --config {CONFIG} --ckpt_path last --model.init_args.total_env_steps 40000\n"
        f"  evaluate:     .venv/bin/lit-irl test --config {CONFIG} --ckpt_path {last.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
