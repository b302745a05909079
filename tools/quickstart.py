"""`make quickstart`: ML-IRL from one expert demonstration of the zoo, then evaluation, then where everything is.

Pendulum-v1 (swing-up): no early termination, so the learned state reward alone tells the agent
what to do, and ML-IRL reaches the expert's return in minutes on 2 CPU cores (Hopper, the paper's
env, needs hours: ``tools/bench_ml_irl.py``). Trains ``QUICK_ENV_STEPS`` of ``CONFIG``, prints the
deterministic evaluation table with the zoo expert's return beside it, how well the learned reward
correlates with the hidden true one, and the commands for TensorBoard and for continuing the same
run to the config's full length.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import torch
import yaml

from lit_irl.reporting import logged_scalars

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "configs/ml_irl/pendulum.yaml"
QUICK_ENV_STEPS = 24_000


def lit_irl(*args: str) -> None:
    print("$ lit-irl " + " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "lit_irl.cli", *args], cwd=ROOT, check=True)


def main() -> None:
    config = yaml.safe_load((ROOT / CONFIG).read_text())
    env_id = config["model"]["init_args"]["env"]["env_id"]
    runs = ROOT / "runs" / f"mlirl-{env_id}"
    start = time.time()
    lit_irl("fit", "--config", CONFIG, "--model.init_args.training.total_steps", str(QUICK_ENV_STEPS))
    last = max(runs.glob("version_*/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
    lit_irl("test", "--config", CONFIG, "--trainer.logger", "false", "--ckpt_path", str(last.relative_to(ROOT)))
    state = torch.load(last, map_location="cpu", weights_only=False)
    steps = int(state["state_dict"]["env_steps"])
    returns = [c["last_eval_return"] for c in state.get("collection", [])]
    full_length = config["model"]["init_args"]["training"]["total_steps"]
    correlations = logged_scalars(last.parent.parent, "reward_recovery/pearson_expert_heldout")
    correlation = correlations[-1][1] if correlations else float("nan")
    expert = json.loads((ROOT / "zoo" / "zoo.json").read_text())[env_id]
    run = last.parent.parent.relative_to(ROOT)
    print(
        f"\nML-IRL on {env_id} from 1 expert trajectory: {steps:,} env steps in {(time.time() - start) / 60:.1f} min.\n"
        f"  last periodic eval return {returns[0] if returns else float('nan'):.1f}; "
        f"zoo expert {expert['expert_return_mean']:.1f} (the table above: the final policy, normalized column = % of the expert)\n"
        f"  learned reward vs the hidden true reward on held-out expert states: Pearson {correlation:.2f}\n"
        f"  TensorBoard:  .venv/bin/tensorboard --logdir {run.parent}   (eval/return_mean, reward_recovery/*, reward/*)\n"
        f"  checkpoint:   {last.relative_to(ROOT)}\n"
        f"  continue to the config's full {full_length:,} env steps (same run, same folder):\n"
        f"                .venv/bin/lit-irl fit --config {CONFIG} --ckpt_path last\n"
        f"  evaluate:     .venv/bin/lit-irl test --config {CONFIG} --ckpt_path {last.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
