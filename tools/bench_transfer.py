"""Transfer across changing dynamics (thesis Table 2.2): ML-IRL state-only, CustomAnt-v0 -> DisabledAnt-v0.

    python tools/bench_transfer.py --seeds 0                     # every stage, 2 runs at a time
    python tools/bench_transfer.py --stages data_transfer ground_truth --seeds 0 1 2
    python tools/bench_transfer.py --report-only                  # -> results/transfer_ant.{md,json,png}

Needs the CustomAnt-v0 expert demonstrations of the zoo (``zoo/CustomAnt-v0/expert_demos.hdf5``).
Stages, each one ``lit-irl fit`` per seed in ``results/runs/transfer_<stage>/seed<k>`` (continued
across sessions like ``tools/bench_ml_irl.py``; ``--carry`` packs them into ``results/carry/``):

- ``data_transfer``: ML-IRL in DisabledAnt-v0 on the CustomAnt-v0 demonstrations
  (``configs/ml_irl/disabled_ant_data_transfer.yaml``);
- ``custom_ant_irl``: ML-IRL in CustomAnt-v0, learning the state-only reward to transfer
  (``configs/ml_irl/custom_ant_state_only.yaml``);
- ``reward_transfer``: SAC from scratch in DisabledAnt-v0 on the frozen reward of the finished
  ``custom_ant_irl`` run of the same seed (``configs/sac/disabled_ant.yaml`` + ``reward_from``);
  it waits for that run and is skipped while it is unfinished;
- ``ground_truth``: SAC in DisabledAnt-v0 on the true reward (``configs/sac/disabled_ant.yaml``).

The table reports every stage's final true DisabledAnt return (CustomAnt-v0 for ``custom_ant_irl``)
as ``tools/bench_ml_irl.py`` does, its ratio to the ground-truth SAC, and the thesis' numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from lit_irl.benchmark import RESULTS, ROOT, BenchmarkRun
from lit_irl.data.rollout import random_policy_returns
from lit_irl.envs import EnvConfig
from lit_irl.reporting import SUMMARY_HEADER, SUMMARY_LEGEND, eval_summary, markdown_table, plot_curves, summary_cells
from lit_irl.files import write_text_atomic

DEMONSTRATIONS = ROOT / "zoo" / "CustomAnt-v0" / "expert_demos.hdf5"
STAGES = {
    "data_transfer": ROOT / "configs" / "ml_irl" / "disabled_ant_data_transfer.yaml",
    "custom_ant_irl": ROOT / "configs" / "ml_irl" / "custom_ant_state_only.yaml",
    "reward_transfer": ROOT / "configs" / "sac" / "disabled_ant.yaml",
    "ground_truth": ROOT / "configs" / "sac" / "disabled_ant.yaml",
}
DESCRIPTIONS = {
    "data_transfer": "data transfer: ML-IRL(S) in DisabledAnt on CustomAnt demonstrations",
    "reward_transfer": "reward transfer: SAC in DisabledAnt on r(s) learned by ML-IRL in CustomAnt",
    "ground_truth": "ground truth: SAC in DisabledAnt on the true reward",
    "custom_ant_irl": "(source of the reward transfer) ML-IRL(S) in CustomAnt, true CustomAnt return vs its expert",
}
RANDOM_EPISODES = 10
# Thesis Table 2.2 (true DisabledAnt return; its budget and seed count are not stated).
PAPER = {"data_transfer": 221.51, "reward_transfer": 187.69, "ground_truth": 320.15}


@dataclass
class RecordedRun:
    """A run known only from the curve an earlier report recorded in ``results/transfer_ant.json``
    (its folder was lost before ``--carry``): the table keeps its row, marked in the JSON."""

    name: str
    curve: list[tuple[int, float]]
    wall_hours: float

    @classmethod
    def of(cls, name: str, stage_summary: dict) -> RecordedRun | None:
        curve = stage_summary.get("curves", {}).get(name)
        return cls(name, [tuple(point) for point in curve], stage_summary.get("wall_time_h", 0.0)) if curve else None

    def scalars(self, tag: str) -> list[tuple[int, float]]:
        return self.curve if tag == "eval/return_mean" else []

    def wall_seconds(self, unit: str = "env_steps") -> float:
        return self.wall_hours * 3600


def stage_run(stage: str, seed: int) -> BenchmarkRun:
    overrides = ["--model.init_args.training.seed", str(seed)]
    if stage == "reward_transfer":
        overrides += ["--model.init_args.reward_from", str(stage_run("custom_ant_irl", seed).latest_checkpoint)]
    return BenchmarkRun(f"transfer_{stage}/seed{seed}", [STAGES[stage]], overrides)


def train_stages(stages: list[str], seeds: list[int], total: int | None, parallel: int) -> None:
    # The reward transfer needs the finished CustomAnt reward: it goes in a second round.
    rounds = [[s for s in stages if s != "reward_transfer"], [s for s in stages if s == "reward_transfer"]]
    start, failed = time.time(), []
    for round_stages in rounds:
        runs = []
        for stage in round_stages:
            for seed in seeds:
                if stage == "reward_transfer" and not stage_run("custom_ant_irl", seed).finished():
                    print(f"reward_transfer seed {seed}: skipped, its custom_ant_irl run is not finished")
                    continue
                runs.append(stage_run(stage, seed))
        with ThreadPoolExecutor(parallel) as pool:
            codes = list(pool.map(lambda run: run.train(total), runs))
        failed += [run.name for run, code in zip(runs, codes) if code != 0]
    print(f"done in {time.time() - start:.0f} s; failed: {failed or 'none'}")


def report(seeds: list[int]) -> None:
    recorded = json.loads((RESULTS / "transfer_ant.json").read_text()) if (RESULTS / "transfer_ant.json").exists() else {}

    def summary(stage: str, reference: float | None) -> dict:
        runs = [BenchmarkRun(f"transfer_{stage}/seed{seed}", [STAGES[stage]]) for seed in seeds]
        # A run whose events were never carried is known from the curve an earlier report recorded.
        runs = [run if run.scalars("eval/return_mean") else RecordedRun.of(run.name, recorded.get(stage, {})) or run for run in runs]
        return eval_summary(runs, reference)

    ground_truth = summary("ground_truth", None)["final_mean"]
    summaries = {stage: summary(stage, ground_truth) for stage in ("data_transfer", "reward_transfer", "ground_truth")}
    zoo = json.loads((ROOT / "zoo" / "zoo.json").read_text()) if (ROOT / "zoo" / "zoo.json").exists() else {}
    summaries["custom_ant_irl"] = summary("custom_ant_irl", zoo.get("CustomAnt-v0", {}).get("expert_return_mean"))
    header = ["setting", *(cell.format(reference="ground-truth SAC") for cell in SUMMARY_HEADER), "thesis", "thesis ratio"]
    rows = [
        [DESCRIPTIONS[stage], *summary_cells(summary),
         f"{PAPER[stage]:.2f}" if stage in PAPER else "-",
         f"{PAPER[stage] / PAPER['ground_truth']:.2f}" if stage in PAPER else "-"]
        for stage, summary in summaries.items()
    ]
    lines = [
        "# Transfer across changing dynamics: CustomAnt-v0 -> DisabledAnt-v0", "",
        "Command: `python " + " ".join(["tools/bench_transfer.py", *sys.argv[1:]]) + "`", "",
        SUMMARY_LEGEND.format(reference="ground-truth SAC (last row of DisabledAnt)"),
        "The CustomAnt row's reference is instead its zoo expert (`zoo/CustomAnt-v0`).", "",
        *markdown_table(header, rows),
    ]
    # "Well above random" needs random's number: uniform actions in DisabledAnt, measured once and kept in the JSON.
    random_policy = recorded.get("random_policy") or random_policy_return()
    lines += ["", f"Random policy (uniform actions) in DisabledAnt-v0, {random_policy['episodes']} episodes: "
              f"{random_policy['mean']:.1f} ± {random_policy['std']:.1f}"
              + (f" = {random_policy['mean'] / ground_truth:.2f} of the ground-truth SAC." if ground_truth else ".")]
    lost = [stage for stage in summaries if any(name in recorded.get(stage, {}).get("curves", {}) and not
            BenchmarkRun(name, [STAGES[stage]]).scalars("eval/return_mean") for name in summaries[stage]["curves"])]
    if lost:
        lines += ["", f"Rows read from the curves recorded by an earlier report (their run folders were not carried): {', '.join(lost)}."]
    RESULTS.mkdir(exist_ok=True)
    write_text_atomic(RESULTS / "transfer_ant.md", "\n".join(lines) + "\n")
    write_text_atomic(RESULTS / "transfer_ant.json", json.dumps({**summaries, "random_policy": random_policy}, indent=1))
    panels = [(DESCRIPTIONS[stage].split(":")[0], summary["curves"], summary["reference"], "CustomAnt expert" if stage == "custom_ant_irl" else "ground-truth SAC")
              for stage, summary in summaries.items()]
    plot_curves(panels, RESULTS / "transfer_ant.png")
    print("\n".join(lines))


def random_policy_return() -> dict:
    returns = random_policy_returns(EnvConfig(env_id="DisabledAnt-v0"), RANDOM_EPISODES)
    return {"mean": float(returns.mean()), "std": float(returns.std()), "episodes": RANDOM_EPISODES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=list(STAGES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--total-env-steps", type=int, help="override the configs' budget (1M)")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--report-only", action="store_true", help="do not train, only summarize what the runs (else their carried events) hold")
    parser.add_argument("--carry", action="store_true", help="do not train: pack the runs for the next session into results/carry/ (commit it)")
    args = parser.parse_args()
    if args.carry:
        for stage in args.stages:
            for seed in args.seeds:
                BenchmarkRun(f"transfer_{stage}/seed{seed}", [STAGES[stage]]).carry()
        return
    if not args.report_only:
        if not DEMONSTRATIONS.exists() and set(args.stages) != {"ground_truth"}:
            raise SystemExit(
                f"bench_transfer: {DEMONSTRATIONS.relative_to(ROOT)} is missing: train the CustomAnt-v0 expert "
                "(lit-irl fit --config configs/sac/custom_ant.yaml) and build its zoo entry "
                "(python tools/build_zoo.py --run-dir runs/sac-CustomAnt-v0/version_<n>) first"
            )
        train_stages(args.stages, args.seeds, args.total_env_steps, args.parallel)
    report(args.seeds)


if __name__ == "__main__":
    main()
