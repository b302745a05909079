"""Sequence-level alignment on the synthetic language: IRL from demonstrations vs SFT across demonstration
counts (the paper's headline pair), with DPO and SPIN beside them, through the results layer.

    python tools/bench_sequence.py --seeds 0 1 2                      # train (continues unfinished runs), then report
    python tools/bench_sequence.py --demos 100 1000 --seeds 0 --report-only
    python tools/bench_sequence.py --carry --seeds 0 1 2

One base model is pretrained per seed (``configs/sequence/pretrain.yaml``); SFT starts from it, and IRL (preset
``irl_exact``, ``--irl-presets`` for more), SPIN and DPO start from that seed's SFT at the same demonstration
count (DPO's pairs: as many as demonstrations). Reported per (method, N): the final evaluation's gold reward,
``KL(pi_E || pi_theta)``, ``KL(pi_theta || pi_E)`` and win rate against the expert, mean ± std over seeds (each
evaluation is itself a Monte-Carlo mean over 1000 held-out prompts with its standard error in the run's events).
The seeds' LLM numbers (TL;DR win rate 24% -> 33% for IRL over SFT) are a direction to compare with, not a target.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from lit_irl.benchmark import RESULTS, ROOT, BenchmarkRun, train_runs
from lit_irl.files import write_text_atomic
from lit_irl.reporting import markdown_table

CONFIGS = {name: ROOT / "configs" / "sequence" / f"{name}.yaml" for name in ("pretrain", "sft", "irl", "dpo", "spin")}
METRICS = ("gold_reward", "kl_expert_to_policy", "kl_policy_to_expert", "win_rate_vs_expert")


def run(method: str, seed: int, demos: int | None = None, preset: str = "irl_exact") -> BenchmarkRun:
    seeded = ["--model.init_args.training.seed", str(seed)]
    if method == "pretrain":
        return BenchmarkRun(f"sequence_pretrain/seed{seed}", [CONFIGS["pretrain"]], seeded)
    start = run("pretrain", seed) if method == "sft" else run("sft", seed, demos)
    overrides = [*seeded, "--model.init_args.init_from", str(start.latest_checkpoint)]
    overrides += ["--model.init_args.num_pairs", str(demos)] if method == "dpo" else ["--model.init_args.num_demonstrations", str(demos)]
    name = f"{method}_{preset}" if method == "irl" else method
    if method == "irl":
        overrides += ["--model.init_args.preset", preset]
    return BenchmarkRun(f"sequence_{name}_n{demos}/seed{seed}", [CONFIGS[method]], overrides)


def final(run_: BenchmarkRun, metric: str) -> float | None:
    points = run_.scalars(f"eval/{metric}")
    return points[-1][1] if points else None


def report(methods: list[str], demos: list[int], seeds: list[int], presets: list[str]) -> None:
    rows, table = [], {}
    variants = [(m, p) for m in methods for p in (presets if m == "irl" else ["-"])]
    for method, preset in variants:
        for n in demos:
            values = {metric: [v for s in seeds if (v := final(run(method, s, n, preset if preset != "-" else "irl_exact"), metric)) is not None]
                      for metric in METRICS}
            name = f"IRL ({preset})" if method == "irl" else method.upper()
            table[f"{name} N={n}"] = values
            rows.append([name, str(n), str(len(values["gold_reward"])),
                         *(f"{np.mean(v):.3f} ± {np.std(v):.3f}" if v else "-" for v in values.values())])
    expert = [v for s in seeds if (v := final(run("pretrain", s), "expert_gold_reward")) is not None]
    lines = [
        "# Sequence-level alignment on the synthetic language", "",
        "Command: `python " + " ".join(["tools/bench_sequence.py", *sys.argv[1:]]) + "`", "",
        "Final evaluation of each run on 1000 held-out prompts; mean ± std over seeds. Gold reward of the expert's responses: "
        + (f"{np.mean(expert):.3f}." if expert else "-"), "",
        *markdown_table(["method", "demonstrations", "seeds", "gold reward", "KL(pi_E || pi)", "KL(pi || pi_E)", "win rate vs expert"], rows),
    ]
    RESULTS.mkdir(exist_ok=True)
    write_text_atomic(RESULTS / "sequence.md", "\n".join(lines) + "\n")
    write_text_atomic(RESULTS / "sequence.json", json.dumps(table, indent=1))
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=["sft", "irl", "spin", "dpo"], choices=["sft", "irl", "spin", "dpo"])
    parser.add_argument("--demos", nargs="+", type=int, default=[100, 300, 1000, 3000])
    parser.add_argument("--irl-presets", nargs="+", default=["irl_exact"], choices=["irl_exact", "irl_paper"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--carry", action="store_true", help="do not train: pack the runs for the next session into results/carry/")
    args = parser.parse_args()
    others = [(m, p) for m in args.methods if m != "sft" for p in (args.irl_presets if m == "irl" else ["irl_exact"])]
    stages = [[run("pretrain", s) for s in args.seeds], [run("sft", s, n) for s in args.seeds for n in args.demos],
              [run(m, s, n, p) for m, p in others for s in args.seeds for n in args.demos]]
    if args.carry:
        for run_ in (r for stage in stages for r in stage):
            if run_.folder.exists():
                run_.carry()
        return
    if not args.report_only:
        for stage in stages:  # each stage starts from the previous one's checkpoints
            train_runs(stage, None, args.parallel)
    report(args.methods, args.demos, args.seeds, args.irl_presets)


if __name__ == "__main__":
    main()
