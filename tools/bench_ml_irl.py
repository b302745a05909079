"""ML-IRL results: several seeds per env and reward variant, a table and learning curves in results/.

    python tools/bench_ml_irl.py --envs hopper --variants state_only state_action --seeds 0 1 2
    python tools/bench_ml_irl.py --envs inverted_pendulum --variants default --seeds 0 1 2 --total-env-steps 40000

Every run is ``lit-irl fit --config configs/ml_irl/<env>_<variant>.yaml`` (``<variant>+<overlay>``: then
``--config configs/ml_irl/overlays/<overlay>.yaml`` over it) with its own seed, in a
fixed folder ``results/runs/<env>_<variant>/seed<k>/``; running the command again continues
unfinished runs from their ``last.ckpt`` (so a budget longer than one machine session is reached
across sessions) and re-reads finished ones. Runs longer than one machine session: ``--carry`` packs
them (compact checkpoint + TensorBoard events, a few MB) into ``results/carry/`` to be committed;
the same command in the next session continues from there. Runs execute ``--parallel`` at a time with
``OMP_NUM_THREADS=1`` each.

Reported per (env, variant): the final deterministic evaluation (the last ``eval/return_mean`` of
each seed, never a checkpoint picked by true return), mean ± std over seeds, its ratio to the zoo
expert's return, env steps, and training wall time. Also ``perf/iteration_over_sac``: the cost of
an ML-IRL iteration over the SAC work inside it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from lit_irl.checkpoint_io import compact_checkpoint
from lit_irl.reporting import logged_scalars, training_seconds

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
LAST_EVALS = 5  # evaluations averaged for the "recent" column (every 25k env steps in the configs)


def config_paths(env: str, variant: str) -> list[Path]:
    """``state_only`` -> configs/ml_irl/<env>_state_only.yaml; ``state_only+official_reward_step``
    -> that config, then configs/ml_irl/overlays/official_reward_step.yaml over it."""
    base, *overlays = variant.split("+")
    paths = [ROOT / "configs" / "ml_irl" / (f"{env}.yaml" if base == "default" else f"{env}_{base}.yaml")]
    paths += [ROOT / "configs" / "ml_irl" / "overlays" / f"{name}.yaml" for name in overlays]
    missing = [str(p.relative_to(ROOT)) for p in paths if not p.exists()]
    if missing:
        raise SystemExit(f"bench_ml_irl: no config {', '.join(missing)} for env {env!r}, variant {variant!r}")
    return paths


def run_dir(env: str, variant: str, seed: int) -> Path:
    return RESULTS / "runs" / f"{env}_{variant}" / f"seed{seed}"


def carry_dir(env: str, variant: str, seed: int) -> Path:
    return RESULTS / "carry" / f"{env}_{variant}" / f"seed{seed}"


def carry(env: str, variant: str, seed: int) -> None:
    """Pack an unfinished run for the next machine session: its compact checkpoint (networks,
    optimizers, reward net, counters; no replay buffer) and its TensorBoard events (the curve so
    far), small enough to commit. ``train`` continues from it when the run folder is gone."""
    folder, target = run_dir(env, variant, seed), carry_dir(env, variant, seed)
    last = folder / "run" / "checkpoints" / "last.ckpt"
    if not last.exists():
        return
    target.mkdir(parents=True, exist_ok=True)
    steps = compact_checkpoint(last, target / "last.ckpt")
    for events in (folder / "run").glob("events.out.tfevents.*"):
        shutil.copy2(events, target / events.name)
    print(f"{target}: env steps {steps:,}")


def train(env: str, variant: str, seed: int, total: int | None) -> int:
    folder = run_dir(env, variant, seed)
    carried = carry_dir(env, variant, seed)
    if not (folder / "run" / "checkpoints" / "last.ckpt").exists() and (carried / "last.ckpt").exists():
        # A run carried over from an earlier session: its curve so far, then its compact checkpoint
        # (the replay buffer refills for warmup_steps with the current policy; not bit-identical).
        (folder / "run").mkdir(parents=True, exist_ok=True)
        for events in carried.glob("events.out.tfevents.*"):
            shutil.copy2(events, folder / "run" / events.name)
        resume_from = carried / "last.ckpt"
    else:
        resume_from = folder / "run" / "checkpoints" / "last.ckpt"
    command = [
        sys.executable, "-m", "lit_irl.cli", "fit", *(arg for path in config_paths(env, variant) for arg in ("--config", str(path))),
        "--model.init_args.seed", str(seed),
        "--trainer.enable_progress_bar", "false",
        "--trainer.logger.init_args.save_dir", str(folder.parent),
        "--trainer.logger.init_args.name", folder.name,
        "--trainer.logger.init_args.version", "run",
    ]
    if total:
        command += ["--model.init_args.total_env_steps", str(total)]
    if resume_from.exists():
        command += ["--ckpt_path", str(resume_from)]
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "train.log", "a") as log:
        return subprocess.run(command, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=log, stderr=subprocess.STDOUT).returncode


def scalars(folder: Path, tag: str) -> list[tuple[int, float]]:
    return logged_scalars(folder / "run", tag)


def summarize(env: str, variant: str, seeds: list[int]) -> dict:
    finals, recents, steps, walls, overheads, curves = [], [], [], [], [], {}
    for seed in seeds:
        folder = run_dir(env, variant, seed)
        evals = scalars(folder, "eval/return_mean")
        if not evals:
            continue
        curves[seed] = evals
        finals.append(evals[-1][1])
        recents.append(float(np.mean([v for _, v in evals[-LAST_EVALS:]])))
        steps.append(evals[-1][0])
        walls.append(training_seconds(folder / "run"))
        overheads += [v for _, v in scalars(folder, "perf/iteration_over_sac")]
    zoo = json.loads((ROOT / "zoo" / "zoo.json").read_text()) if (ROOT / "zoo" / "zoo.json").exists() else {}
    env_id = {"inverted_pendulum": "InvertedPendulum-v5", "hopper": "Hopper-v5", "halfcheetah": "HalfCheetah-v5",
              "walker2d": "Walker2d-v5", "ant": "Ant-v5", "humanoid": "Humanoid-v5"}[env]
    expert = zoo.get(env_id, {}).get("expert_return_mean")
    return {
        "env": env_id, "variant": variant, "seeds": len(finals),
        "final_mean": float(np.mean(finals)) if finals else None, "final_std": float(np.std(finals)) if finals else None,
        "recent_mean": float(np.mean(recents)) if recents else None,
        "expert": expert, "ratio": float(np.mean(finals) / expert) if finals and expert else None,
        "recent_ratio": float(np.mean(recents) / expert) if recents and expert else None,
        "env_steps": int(np.min(steps)) if steps else 0, "wall_time_h": float(np.mean(walls)) / 3600 if walls else 0.0,
        "iteration_over_sac": float(np.median(overheads)) if overheads else None, "curves": curves,
    }


def write_outputs(rows: list[dict], tag: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    RESULTS.mkdir(exist_ok=True)
    lines = [
        f"# ML-IRL results ({tag})", "",
        "Command: `python " + " ".join(["tools/bench_ml_irl.py", *sys.argv[1:]]) + "`", "",
        (
            "Final deterministic evaluation (last eval of each seed), mean ± std over seeds; ratio to the zoo expert's return. "
            f"The single evaluations swing (SAC under a moving reward), so the mean of each seed's last {LAST_EVALS} evaluations "
            "is shown beside it."
        ),
        "",
        f"| env | reward | seeds | final return | expert | ratio | last {LAST_EVALS} evals | ratio | env steps | wall time / seed | iteration / SAC work |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        final = f"{r['final_mean']:.1f} ± {r['final_std']:.1f}" if r["final_mean"] is not None else "-"
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "-"
        expert = f"{r['expert']:.1f}" if r["expert"] else "-"
        overhead = f"{r['iteration_over_sac']:.3f}x" if r["iteration_over_sac"] else "-"
        recent = f"{r['recent_mean']:.1f}" if r.get("recent_mean") is not None else "-"
        recent_ratio = f"{r['recent_ratio']:.2f}" if r.get("recent_ratio") is not None else "-"
        lines.append(
            f"| {r['env']} | {r['variant']} | {r['seeds']} | {final} | {expert} | {ratio} | {recent} | {recent_ratio} "
            f"| {r['env_steps']:,} | {r['wall_time_h']:.2f} h | {overhead} |"
        )
    (RESULTS / f"ml_irl_{tag}.md").write_text("\n".join(lines) + "\n")
    (RESULTS / f"ml_irl_{tag}.json").write_text(json.dumps(rows, indent=1))

    figure, axes = plt.subplots(1, len(rows), figsize=(5 * len(rows), 3.5), squeeze=False)
    for axis, r in zip(axes[0], rows):
        for seed, curve in r["curves"].items():
            axis.plot([s for s, _ in curve], [v for _, v in curve], label=f"seed {seed}")
        if r["expert"]:
            axis.axhline(r["expert"], color="k", linestyle="--", label="zoo expert")
        axis.set_title(f"ML-IRL {r['variant']}: {r['env']}")
        axis.set_xlabel("env steps")
        axis.set_ylabel("true return (deterministic eval)")
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(RESULTS / f"ml_irl_{tag}.png", dpi=110)
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", nargs="+", default=["hopper"])
    parser.add_argument("--variants", nargs="+", default=["state_only", "state_action"], help="config suffixes; 'default' = configs/ml_irl/<env>.yaml; 'a+b' = <env>_a.yaml with overlays/b.yaml over it")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--total-env-steps", type=int, help="override the configs' budget")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--report-only", action="store_true", help="do not train, only summarize what the runs hold")
    parser.add_argument("--carry", action="store_true", help="do not train: pack the runs for the next session into results/carry/ (commit it)")
    args = parser.parse_args()
    jobs = [(e, v, s) for e in args.envs for v in args.variants for s in args.seeds]
    if args.carry:
        for job in jobs:
            carry(*job)
        return
    if not args.report_only:
        start = time.time()
        with ThreadPoolExecutor(args.parallel) as pool:
            codes = list(pool.map(lambda job: train(*job, args.total_env_steps), jobs))
        failed = [job for job, code in zip(jobs, codes) if code != 0]
        print(f"{len(jobs)} runs in {time.time() - start:.0f} s; failed: {failed or 'none'}")
    rows = [summarize(e, v, args.seeds) for e in args.envs for v in args.variants]
    write_outputs(rows, "_".join(args.envs))


if __name__ == "__main__":
    main()
