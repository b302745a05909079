"""Transfer across changing dynamics (thesis Table 2.2): CustomAnt-v0 -> DisabledAnt-v0, for ML-IRL
state-only and the two IRL baselines whose reward transfers, AIRL (g(s)) and f-IRL (r(s)).

    python tools/bench_transfer.py --seeds 0                     # every stage, 2 runs at a time
    python tools/bench_transfer.py --stages data_transfer ground_truth --seeds 0 1 2
    python tools/bench_transfer.py --stages airl_data_transfer airl_custom_ant_irl --seeds 0
    python tools/bench_transfer.py --report-only                  # -> results/transfer_ant.{md,json,png}

Needs the CustomAnt-v0 expert demonstrations of the zoo (``zoo/CustomAnt-v0/expert_demos.hdf5``).
Stages, each one ``lit-irl fit`` per seed in ``results/runs/transfer_<stage>/seed<k>`` (continued
across sessions like ``tools/bench_ml_irl.py``; ``--carry`` packs them into ``results/carry/``),
per method (``<m>_`` is empty for ML-IRL, ``airl_`` or ``f_irl_`` for the baselines):

- ``<m>data_transfer``: the method in DisabledAnt-v0 on the CustomAnt-v0 demonstrations
  (``configs/ml_irl/disabled_ant_data_transfer.yaml``, ``configs/{airl,f_irl}/disabled_ant_data_transfer.yaml``);
- ``<m>custom_ant_irl``: the method in CustomAnt-v0, learning the state-only reward to transfer
  (``configs/ml_irl/custom_ant_state_only.yaml``, ``configs/{airl,f_irl}/custom_ant.yaml``);
- ``<m>reward_transfer``: SAC from scratch in DisabledAnt-v0 on the frozen reward of the finished
  ``<m>custom_ant_irl`` run of the same seed (``configs/sac/disabled_ant.yaml`` + ``reward_from``);
  it waits for that run and is skipped while it is unfinished;
- ``ground_truth``: SAC in DisabledAnt-v0 on the true reward (``configs/sac/disabled_ant.yaml``).

The table reports every stage's final true DisabledAnt return (CustomAnt-v0 for the ``custom_ant_irl``
stages) as ``tools/bench_ml_irl.py`` does, its ratio to the ground-truth SAC, and the thesis' numbers;
a second table puts the ratios in Table 2.2's layout.
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
CONFIGS = ROOT / "configs"
SAC_DISABLED_ANT = CONFIGS / "sac" / "disabled_ant.yaml"
# Prefix of each method's stage names, its name in the tables, and its two IRL configs (data transfer, CustomAnt).
# In the thesis' column order.
METHODS = {
    "airl_": ("AIRL", CONFIGS / "airl" / "disabled_ant_data_transfer.yaml", CONFIGS / "airl" / "custom_ant.yaml"),
    "f_irl_": ("f-IRL (JS)", CONFIGS / "f_irl" / "disabled_ant_data_transfer.yaml", CONFIGS / "f_irl" / "custom_ant.yaml"),
    "": ("ML-IRL(S)", CONFIGS / "ml_irl" / "disabled_ant_data_transfer.yaml", CONFIGS / "ml_irl" / "custom_ant_state_only.yaml"),
}
STAGES = {"ground_truth": SAC_DISABLED_ANT}
DESCRIPTIONS = {"ground_truth": "ground truth: SAC in DisabledAnt on the true reward"}
for _prefix, (_name, _data_config, _source_config) in METHODS.items():
    STAGES |= {f"{_prefix}data_transfer": _data_config, f"{_prefix}custom_ant_irl": _source_config, f"{_prefix}reward_transfer": SAC_DISABLED_ANT}
    DESCRIPTIONS |= {
        f"{_prefix}data_transfer": f"data transfer: {_name} in DisabledAnt on CustomAnt demonstrations",
        f"{_prefix}reward_transfer": f"reward transfer: SAC in DisabledAnt on the state-only reward learned by {_name} in CustomAnt",
        f"{_prefix}custom_ant_irl": f"(source of the reward transfer) {_name} in CustomAnt, true CustomAnt return vs its expert",
    }
# The table's row order: the DisabledAnt rows, then the CustomAnt sources.
ROW_ORDER = [*(f"{p}{kind}" for p in METHODS for kind in ("data_transfer", "reward_transfer")), "ground_truth", *(f"{p}custom_ant_irl" for p in METHODS)]
RANDOM_EPISODES = 10
STAGE_BUDGET = 1_000_000  # every stage's configs
# Thesis Table 2.2 (true DisabledAnt return; its budget and seed count are not stated; AIRL's reward-transfer
# number is probably copied from another paper: card baselines.md, section C).
PAPER = {"data_transfer": 221.51, "reward_transfer": 187.69, "ground_truth": 320.15, "airl_data_transfer": -5.39,
         "airl_reward_transfer": 130.3, "f_irl_data_transfer": 188.85, "f_irl_reward_transfer": 156.45}


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


def reward_source(stage: str) -> str | None:
    """The CustomAnt stage whose reward a reward-transfer stage reads (None for the other stages)."""
    return stage.replace("reward_transfer", "custom_ant_irl") if stage.endswith("reward_transfer") else None


def stage_run(stage: str, seed: int) -> BenchmarkRun:
    overrides = ["--model.init_args.training.seed", str(seed)]
    if source := reward_source(stage):
        overrides += ["--model.init_args.reward_from", str(stage_run(source, seed).latest_checkpoint)]
    return BenchmarkRun(f"transfer_{stage}/seed{seed}", [STAGES[stage]], overrides)


def train_stages(stages: list[str], seeds: list[int], total: int | None, parallel: int) -> None:
    # A reward transfer needs the finished CustomAnt reward: it goes in a second round.
    rounds = [[s for s in stages if not reward_source(s)], [s for s in stages if reward_source(s)]]
    start, failed = time.time(), []
    for round_stages in rounds:
        runs = []
        for stage in round_stages:
            for seed in seeds:
                if (source := reward_source(stage)) and not stage_run(source, seed).finished():
                    print(f"{stage} seed {seed}: skipped, its {source} run is not finished")
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
    zoo = json.loads((ROOT / "zoo" / "zoo.json").read_text()) if (ROOT / "zoo" / "zoo.json").exists() else {}
    custom_ant_expert = zoo.get("CustomAnt-v0", {}).get("expert_return_mean")
    summaries = {stage: summary(stage, custom_ant_expert if stage.endswith("custom_ant_irl") else ground_truth) for stage in ROW_ORDER}
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
        "The CustomAnt rows' reference is instead the CustomAnt-v0 zoo expert (`zoo/CustomAnt-v0`).", "",
        *markdown_table(header, rows), "",
        "In Table 2.2's layout (ratio to the ground-truth SAC: final / mean of the last 5 evaluations, seed mean; "
        "the thesis' ratio to its own ground truth below each):", "",
        *markdown_table(*table_2_2(summaries)),
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
    # One panel per stage that has runs (the baselines' rows stay empty until they are trained).
    panels = [(DESCRIPTIONS[stage].split(" in ")[0] if stage.endswith("custom_ant_irl") else DESCRIPTIONS[stage].split(" in DisabledAnt")[0],
               summary["curves"], summary["reference"], "CustomAnt expert" if stage.endswith("custom_ant_irl") else "ground-truth SAC")
              for stage, summary in summaries.items() if summary["curves"] or stage == "ground_truth"]
    plot_curves(panels, RESULTS / "transfer_ant.png")
    print("\n".join(lines))


def table_2_2(summaries: dict[str, dict]) -> tuple[list[str], list[list[str]]]:
    """Rows data / reward transfer, columns the methods and the ground truth, as the thesis prints it."""

    def ours(stage: str) -> str:
        summary = summaries[stage]
        if summary["ratio"] is None:
            return "-"
        cell = f"{summary['ratio']:.2f} / {summary['recent_ratio']:.2f}"
        steps = summary["env_steps"]  # the least advanced seed's
        return cell if steps >= STAGE_BUDGET else f"{cell} (at {steps // 1000}k of {STAGE_BUDGET // 1000}k)"

    def thesis(stage: str) -> str:
        return f"{PAPER[stage] / PAPER['ground_truth']:.2f}" if stage in PAPER else "-"

    header = ["setting", *(name for name, _, _ in METHODS.values()), "ground truth"]
    rows = []
    for kind in ("data_transfer", "reward_transfer"):
        label = kind.replace("_", " ")
        rows.append([f"{label}, ours", *(ours(f"{prefix}{kind}") for prefix in METHODS), ours("ground_truth")])
        rows.append([f"{label}, thesis", *(thesis(f"{prefix}{kind}") for prefix in METHODS), "1.00"])
    return header, rows


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
