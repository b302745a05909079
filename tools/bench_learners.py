"""BC and PPO on Hopper-v5: the results of the spine's first non-SAC learners.

    python tools/bench_learners.py --stages bc ppo --seeds 0 1 2     # train (continues runs), then report
    python tools/bench_learners.py --report-only --seeds 0 1 2        # -> results/learners_hopper.{md,json,png}
    python tools/bench_learners.py --carry --stages ppo               # pack unfinished runs for the next session

- ``bc``: BC (tanh-Gaussian maximum likelihood, ``configs/bc/hopper.yaml``) from 1, 5 and 25 expert
  trajectories. The zoo holds 10 demonstrations; the 25 come from ``data/hopper_expert_25.hdf5``,
  made here from the zoo expert (``lit-irl-data demos --episodes 25``) when missing.
- ``ppo``: PPO on the true reward, 1M env steps (``configs/ppo/hopper.yaml``), beside CleanRL's
  published ``ppo_continuous_action.py`` result on Hopper-v4 at 1M steps.

Each run is one ``lit-irl fit`` in ``results/runs/<name>/seed<k>`` (:class:`lit_irl.benchmark.BenchmarkRun`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np

from lit_irl.benchmark import RESULTS, ROOT, BenchmarkRun, train_runs
from lit_irl.reporting import SUMMARY_HEADER, SUMMARY_LEGEND, eval_summary, markdown_table, plot_curves, summary_cells
from lit_irl.files import write_text_atomic

BC_TRAJECTORIES = (1, 5, 25)
DEMOS_25 = ROOT / "data" / "hopper_expert_25.hdf5"
# CleanRL, docs/benchmark/ppo_continuous_action.md (openrlbenchmark tag pr-424): Hopper-v4, 1M steps,
# 3 seeds, mean of each run's last 100 *training* episodes (stochastic policy), mean ± std over seeds.
CLEANRL_PPO_HOPPER = (2382.86, 271.74)


def bc_run(trajectories: int, seed: int) -> BenchmarkRun:
    demos = DEMOS_25 if trajectories > 10 else ROOT / "zoo" / "Hopper-v5" / "expert_demos.hdf5"
    overrides = ["--model.init_args.training.seed", str(seed), "--model.init_args.num_trajectories", str(trajectories),
                 "--model.init_args.demonstrations", str(demos)]
    return BenchmarkRun(f"bc_hopper_{trajectories}traj/seed{seed}", [ROOT / "configs" / "bc" / "hopper.yaml"], overrides)


def ppo_run(seed: int) -> BenchmarkRun:
    return BenchmarkRun(f"ppo_hopper/seed{seed}", [ROOT / "configs" / "ppo" / "hopper.yaml"], ["--model.init_args.training.seed", str(seed)])


def runs_of(stage: str, seeds: list[int]) -> list[BenchmarkRun]:
    return [bc_run(n, s) for n in BC_TRAJECTORIES for s in seeds] if stage == "bc" else [ppo_run(s) for s in seeds]


def make_demonstrations() -> None:
    if not DEMOS_25.exists():
        subprocess.run([sys.executable, "-m", "lit_irl.data.cli", "demos", "--policy", str(ROOT / "zoo" / "Hopper-v5" / "expert.pt"),
                        "--episodes", "25", "--seed", "100", "--out", str(DEMOS_25)], check=True, cwd=ROOT)


def report(seeds: list[int]) -> None:
    zoo = json.loads((ROOT / "zoo" / "zoo.json").read_text())
    expert = zoo["Hopper-v5"]["expert_return_mean"]
    rows, summaries = [], {}
    for n in BC_TRAJECTORIES:
        summary = eval_summary([bc_run(n, s) for s in seeds], expert, unit="gradient_steps")
        summaries[f"bc_{n}"] = summary
        rows.append([f"BC, {n} expert trajectories", *summary_cells(summary), "-", "-"])
    ppo_runs = [ppo_run(s) for s in seeds]
    summary = eval_summary(ppo_runs, expert)
    # The protocol of the published number: the stochastic policy's training episodes at the end.
    training = [run.scalars("train/episode_return")[-1][1] for run in ppo_runs if run.scalars("train/episode_return")]
    summary["final_training_return_mean"] = float(np.mean(training)) if training else None
    summaries["ppo"] = summary
    cleanrl = f"{CLEANRL_PPO_HOPPER[0]:.1f} ± {CLEANRL_PPO_HOPPER[1]:.1f} (Hopper-v4, 3 seeds, training episodes)"
    ours = f"{np.mean(training):.1f} ± {np.std(training):.1f}" if training else "-"
    rows.append(["PPO, true reward", *summary_cells(summary), ours, cleanrl])
    header = [
        "learner", *(cell.format(reference="zoo expert") for cell in SUMMARY_HEADER),
        "training return at the end (last 20 episodes, stochastic policy)", "published (CleanRL PPO, 1M steps)",
    ]
    header[header.index("env steps")] = "steps (BC: gradient steps)"
    lines = [
        "# BC and PPO on Hopper-v5", "",
        "Command: `python " + " ".join(["tools/bench_learners.py", *sys.argv[1:]]) + "`", "",
        SUMMARY_LEGEND.format(reference="zoo expert"),
        "BC trains offline on the expert demonstrations only (its x-axis is gradient steps) and is evaluated with the "
        "deterministic mean action. PPO's published reference is CleanRL's `ppo_continuous_action.py` benchmark "
        "(docs/benchmark/ppo_continuous_action.md, openrlbenchmark): Hopper-v4 (mujoco 2.3), 1M steps, mean of the last "
        "100 training episodes of the stochastic policy per seed — not the same protocol as our deterministic evaluation "
        "on v5, so compare the order of magnitude, not the decimals.", "",
        *markdown_table(header, rows),
    ]
    RESULTS.mkdir(exist_ok=True)
    write_text_atomic(RESULTS / "learners_hopper.md", "\n".join(lines) + "\n")
    write_text_atomic(RESULTS / "learners_hopper.json", json.dumps(summaries, indent=1))
    panels = [(f"BC, {n} trajectories (x: gradient steps)", summaries[f"bc_{n}"]["curves"], expert, "zoo expert") for n in BC_TRAJECTORIES]
    panels.append(("PPO, true reward (x: env steps)", summaries["ppo"]["curves"], expert, "zoo expert"))
    plot_curves(panels, RESULTS / "learners_hopper.png")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stages", nargs="+", default=["bc", "ppo"], choices=["bc", "ppo"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--report-only", action="store_true", help="do not train, only summarize what the runs (else their carried events) hold")
    parser.add_argument("--carry", action="store_true", help="do not train: pack the runs for the next session into results/carry/ (commit it)")
    args = parser.parse_args()
    runs = [run for stage in args.stages for run in runs_of(stage, args.seeds)]
    if args.carry:
        for run in runs:
            run.carry()
        return
    if not args.report_only:
        if "bc" in args.stages:
            make_demonstrations()
        train_runs(runs, None, args.parallel)
    report(args.seeds)


if __name__ == "__main__":
    main()
