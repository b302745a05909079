"""The baselines beside ML-IRL in the thesis' Table 2.1 layout (Hopper-v5, 1 expert trajectory, 1M env steps),
through the results layer.

    python tools/bench_baselines.py --seeds 0                         # train (continues carried runs), then report
    python tools/bench_baselines.py --methods gail airl --seeds 0 1 2
    python tools/bench_baselines.py --report-only --seeds 0           # -> results/baselines_hopper.{md,json,png}
    python tools/bench_baselines.py --carry --seeds 0

Each method runs its own config, ``configs/<method>/hopper.yaml`` (the header of each says where its values come
from); the ML-IRL rows are runs of ``tools/bench_ml_irl.py`` (the same folders, not trained twice): r(s) and r(s, a) on
the steadier step, whose SAC is the baselines' (256, 256) one, and in the official configuration. BC learns offline
(gradient steps, no env steps). The thesis' numbers (Gym -v2, its own experts, 6 seeds) are beside ours as ratios to
each one's expert. Also printed: each online method's time split and its iteration time over the SAC work inside it.
"""

from __future__ import annotations

import argparse
import json
import sys


from lit_irl.benchmark import RESULTS, ROOT, TIME_PARTS, BenchmarkRun, time_split, train_runs
from lit_irl.files import write_text_atomic
from lit_irl.reporting import SUMMARY_HEADER, SUMMARY_LEGEND, eval_summary, markdown_table, plot_curves, summary_cells

sys.path.insert(0, str(ROOT / "tools"))
from bench_learners import bc_run  # noqa: E402
from bench_ml_irl import benchmark_run  # noqa: E402

# Thesis Table 2.1, Hopper, 1 expert trajectory (returns on Hopper-v2; its expert 3592.63; card baselines.md 2.B). It has
# no AIRL or SQIL row (its AIRL is only in the transfer table); ML-IRL is its state-only column.
THESIS = {"bc": 20.49, "gail": 2815.59, "airl": None, "f_irl": 3074.55, "iq_learn": 2981.01, "sqil": None,
          "ml_irl": 3089.79, "ml_irl_sa": 3121.68, "ml_irl_official": 3089.79, "ml_irl_sa_official": 3121.68}
THESIS_EXPERT = 3592.63
METHODS = {
    "bc": "BC (offline, 1 trajectory)", "gail": "GAIL (SAC)", "airl": "AIRL (SAC)", "f_irl": "f-IRL (FKL)",
    "iq_learn": "IQ-Learn (online)", "sqil": "SQIL", "ml_irl": "ML-IRL r(s)", "ml_irl_sa": "ML-IRL r(s, a)",
    "ml_irl_official": "ML-IRL r(s), official configuration", "ml_irl_sa_official": "ML-IRL r(s, a), official configuration",
}
# The ML-IRL rows' runs in tools/bench_ml_irl.py: the steadier step runs the same SAC as the baselines' configs.
ML_IRL_VARIANTS = {
    "ml_irl": "state_only+fast_reward_decay+standard_sac", "ml_irl_sa": "state_action+fast_reward_decay+standard_sac",
    "ml_irl_official": "state_only", "ml_irl_sa_official": "state_action",
}


def method_run(method: str, seed: int) -> BenchmarkRun:
    if method in ML_IRL_VARIANTS:
        return benchmark_run("hopper", ML_IRL_VARIANTS[method], seed)
    if method == "bc":  # the 1-trajectory BC of tools/bench_learners.py: the same config, trained once
        return bc_run(1, seed)
    return BenchmarkRun(f"baselines_{method}/seed{seed}", [ROOT / "configs" / method / "hopper.yaml"],
                        ["--model.init_args.training.seed", str(seed)])


def report(methods: list[str], seeds: list[int]) -> None:
    zoo = json.loads((ROOT / "zoo" / "zoo.json").read_text())
    expert = zoo["Hopper-v5"]["expert_return_mean"]
    summaries, rows, splits = {}, [], []
    for method in methods:
        runs = [method_run(method, seed) for seed in seeds]
        summary = eval_summary(runs, expert, "gradient_steps" if method == "bc" else "env_steps", finished_only="if_any")
        summaries[method] = summary
        thesis = THESIS.get(method)
        rows.append([METHODS[method], *summary_cells(summary), f"{thesis:.1f}" if thesis is not None else "-",
                     f"{thesis / THESIS_EXPERT:.2f}" if thesis is not None else "-"])
        shares = time_split(runs)
        if shares and method != "bc":
            sac = shares.get("sac_updates", 0.0) + shares.get("replay_sampling", 0.0)
            extra = shares.get("reward_step", 0.0) + shares.get("relabel", 0.0) + shares.get("agent_rollouts", 0.0)
            splits.append([METHODS[method], *(f"{100 * shares.get(p, 0.0):.1f}%" for p in TIME_PARTS),
                           f"{(sac + extra) / sac:.2f}x" if sac else "-"])
    expert_std = zoo["Hopper-v5"].get("expert_return_std")
    expert_return = f"{expert:.1f}" + (f" ± {expert_std:.1f}" if expert_std is not None else "")
    rows.append(["expert (zoo, the demonstrations' policy)", "-", expert_return, f"{expert:.1f}", "1.00", "-", "-", "-", "-", "-", "-",
                 f"{THESIS_EXPERT:.1f}", "1.00"])
    header = ["method", *(cell.format(reference="expert") for cell in SUMMARY_HEADER), "thesis", "thesis ratio"]
    lines = [
        "# The baselines on Hopper-v5 (thesis Table 2.1 layout, 1 expert trajectory)", "",
        "Command: `python " + " ".join(["tools/bench_baselines.py", *sys.argv[1:]]) + "`", "",
        SUMMARY_LEGEND.format(reference="Hopper-v5 zoo expert"), "",
        *markdown_table(header, rows), "",
        f"Thesis: Hopper-v2, its expert {THESIS_EXPERT}; its BC/GAIL/AIRL came from rl_swiss, IQ-Learn from its authors' code, f-IRL from "
        "twni2016/f-IRL (card baselines.md). BC's budget is gradient steps.",
    ]
    if splits:
        lines += ["", "Where each online run's wall time goes, and its iteration over the SAC work in it ((SAC + reward-side work) / SAC):", "",
                  *markdown_table(["method", *TIME_PARTS, "iteration / SAC"], splits)]
    RESULTS.mkdir(exist_ok=True)
    write_text_atomic(RESULTS / "baselines_hopper.md", "\n".join(lines) + "\n")
    write_text_atomic(RESULTS / "baselines_hopper.json", json.dumps(summaries, indent=1))
    panels = [(METHODS[m], s["curves"], expert, "expert") for m, s in summaries.items() if s["curves"]]
    if panels:
        plot_curves(panels, RESULTS / "baselines_hopper.png")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS),
                        help="the ML-IRL rows only report (train them with tools/bench_ml_irl.py)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--total-env-steps", type=int, help="override the online configs' budget (1M): e.g. a short run that measures the time split; "
                        "the same command with the full budget later continues it")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--carry", action="store_true", help="do not train: pack the runs for the next session into results/carry/")
    args = parser.parse_args()
    if args.carry:
        for run in (method_run(m, s) for m in args.methods for s in args.seeds):
            if run.folder.exists():
                run.carry()
        return
    if not args.report_only:
        if "bc" in args.methods:  # gradient steps, not env steps: never shortened
            train_runs([method_run("bc", s) for s in args.seeds], None, args.parallel)
        online = [method_run(m, s) for m in args.methods for s in args.seeds if m not in ML_IRL_VARIANTS and m != "bc"]
        train_runs(online, args.total_env_steps, args.parallel)
    report(args.methods, args.seeds)


if __name__ == "__main__":
    main()
