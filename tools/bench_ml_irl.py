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
import sys

import numpy as np

from lit_irl.benchmark import RESULTS, ROOT, TIME_PARTS, BenchmarkRun, time_split, train_runs
from lit_irl.files import write_text_atomic
from lit_irl.reporting import (
    IMPROVEMENT_HEADER,
    LAST_EVALS,
    RECOVERY_HEADER,
    SUMMARY_HEADER,
    SUMMARY_LEGEND,
    eval_summary,
    improvement_rows,
    markdown_table,
    method_scores,
    plot_curves,
    plot_performance_profiles,
    recovery_cells,
    summary_cells,
)
from lit_irl.rewards.epic import checkpoint_reward_recovery

ENV_IDS = {"inverted_pendulum": "InvertedPendulum-v5", "pendulum": "Pendulum-v1", "hopper": "Hopper-v5",
           "halfcheetah": "HalfCheetah-v5", "walker2d": "Walker2d-v5", "ant": "Ant-v5", "humanoid": "Humanoid-v5"}


def benchmark_run(env: str, variant: str, seed: int) -> BenchmarkRun:
    """``state_only`` -> configs/ml_irl/<env>_state_only.yaml; ``state_only+official_reward_step``
    -> that config, then configs/ml_irl/overlays/official_reward_step.yaml over it."""
    base, *overlays = variant.split("+")
    configs = [ROOT / "configs" / "ml_irl" / (f"{env}.yaml" if base == "default" else f"{env}_{base}.yaml")]
    configs += [ROOT / "configs" / "ml_irl" / "overlays" / f"{name}.yaml" for name in overlays]
    return BenchmarkRun(f"{env}_{variant}/seed{seed}", configs, ["--model.init_args.training.seed", str(seed)])


def summarize(env: str, variant: str, seeds: list[int]) -> dict:
    runs = [benchmark_run(env, variant, seed) for seed in seeds]
    zoo = json.loads((ROOT / "zoo" / "zoo.json").read_text()) if (ROOT / "zoo" / "zoo.json").exists() else {}
    env_id = ENV_IDS[env]
    overheads = [v for run in runs for _, v in run.scalars("perf/iteration_over_sac")]
    # EPIC of each finished seed's final reward (coverage: its demonstrations, its policy, uniform actions); a seed
    # still carried toward its budget is left out here as in the return columns.
    recoveries = [checkpoint_reward_recovery(str(run.latest_checkpoint)) if run.latest_checkpoint.exists() and run.finished() else None
                  for run in runs]
    return {
        "env": env_id, "variant": variant, **eval_summary(runs, zoo.get(env_id, {}).get("expert_return_mean"), finished_only=True),
        "iteration_over_sac": float(np.median(overheads)) if overheads else None,
        "reward_recovery": recoveries,
        "time_split": time_split(runs),
    }


def write_outputs(rows: list[dict], tag: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    header = ["env", "reward", *(cell.format(reference="expert") for cell in SUMMARY_HEADER), *RECOVERY_HEADER, "iteration / SAC work"]
    cells = [
        [r["env"], r["variant"], *summary_cells(r), *recovery_cells(r["reward_recovery"]),
         f"{r['iteration_over_sac']:.3f}x" if r["iteration_over_sac"] else "-"]
        for r in rows
    ]
    scores = method_scores({f"{r['env']} {r['variant']}": r for r in rows if r["seeds"] > 1})
    names = list(scores)
    comparison = improvement_rows(scores, [(x, y) for i, x in enumerate(names) for y in names[i + 1 :] if x.split()[0] == y.split()[0]])
    lines = [
        f"# ML-IRL results ({tag})", "",
        "Command: `python " + " ".join(["tools/bench_ml_irl.py", *sys.argv[1:]]) + "`", "",
        SUMMARY_LEGEND.format(reference="zoo expert"), "",
        *markdown_table(header, cells), "",
        "Reward recovery of each seed's final reward (mean ± std over seeds): EPIC distance to the env's true reward "
        "(Gleave et al. 2021; invariant to potential shaping and scale, 0 = same reward, 1 = negated) and the raw "
        "correlations with the env's rewards, on a coverage set of 1000 transitions each of the expert demonstrations, "
        "the final policy and uniform random actions (`lit_irl.rewards.epic`).",
    ]
    split_rows = [[r["env"], r["variant"], *(f"{100 * r['time_split'].get(part, 0.0):.1f}%" for part in TIME_PARTS)]
                  for r in rows if r.get("time_split")]
    if split_rows:
        lines += ["", "Where a run's wall time goes (share of each logging period, mean over periods and seeds; runs logged before "
                  "the split was measured have no row):", "", *markdown_table(["env", "reward", *TIME_PARTS], split_rows)]
    if comparison:
        lines += ["", f"Probability of improvement (seeds' last-{LAST_EVALS}-evaluation scores, stratified bootstrap):", "",
                  *markdown_table(IMPROVEMENT_HEADER, comparison), "", f"Performance profiles: `ml_irl_{tag}_profiles.png`."]
    write_text_atomic(RESULTS / f"ml_irl_{tag}.md", "\n".join(lines) + "\n")
    write_text_atomic(RESULTS / f"ml_irl_{tag}.json", json.dumps(rows, indent=1))
    panels = [(f"ML-IRL {r['variant']}: {r['env']}", r["curves"], r["reference"], "zoo expert") for r in rows]
    plot_curves(panels, RESULTS / f"ml_irl_{tag}.png")
    if scores:
        plot_performance_profiles(scores, RESULTS / f"ml_irl_{tag}_profiles.png", f"ML-IRL ({tag}): score = last {LAST_EVALS} evals / zoo expert")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", nargs="+", default=["hopper"], choices=sorted(ENV_IDS))
    parser.add_argument("--variants", nargs="+", default=["state_only", "state_action"], help="config suffixes; 'default' = configs/ml_irl/<env>.yaml; 'a+b' = <env>_a.yaml with overlays/b.yaml over it")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--total-env-steps", type=int, help="override the configs' budget")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--report-only", action="store_true", help="do not train, only summarize what the runs (else their carried events) hold")
    parser.add_argument("--carry", action="store_true", help="do not train: pack the runs for the next session into results/carry/ (commit it)")
    args = parser.parse_args()
    runs = [benchmark_run(e, v, s) for e in args.envs for v in args.variants for s in args.seeds]
    if args.carry:
        for run in runs:
            run.carry()
        return
    if not args.report_only:
        train_runs(runs, args.total_env_steps, args.parallel)
    rows = [summarize(e, v, args.seeds) for e in args.envs for v in args.variants]
    write_outputs(rows, "_".join(args.envs))


if __name__ == "__main__":
    main()
