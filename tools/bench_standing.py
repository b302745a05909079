"""The standing phase of ML-IRL on Hopper (issue 21, step 1): candidate fixes side by side, measured.

    python tools/bench_standing.py --seeds 0 1                 # train (continues carried runs) to 300k, then report
    python tools/bench_standing.py --seeds 0 1 --report-only   # -> results/standing_hopper.{md,json,png}
    python tools/bench_standing.py --seeds 0 1 --carry

With the official configuration (`state_only`, the 1M-step runs of `tools/bench_ml_irl.py`), seeds
hold a return of about 1000 (the alive bonus: standing) for 300k-650k env steps before they hop.
Each candidate is an overlay on `configs/ml_irl/hopper_state_only.yaml` (`configs/ml_irl/overlays/`),
run for `--total-env-steps` (300k). Reported per candidate: the eval return curve, the learned
reward's mean on the agent's states, on its fallen states and on the expert's, and the EPIC
distance to the true reward — what decides between standing, falling and hopping.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ml_irl import benchmark_run  # noqa: E402

from lit_irl.benchmark import RESULTS, ROOT, train_runs  # noqa: E402
from lit_irl.files import write_text_atomic  # noqa: E402
from lit_irl.reporting import SUMMARY_HEADER, SUMMARY_LEGEND, eval_summary, markdown_table, save_figure, summary_cells  # noqa: E402

CANDIDATES = {
    "state_only": "official configuration (plain termination, a fall worth 0, random reward init)",
    "state_only+fixed_horizon": "fixed_horizon in the SAC step, learned temperature",
    "state_only+learned_fall_value": "a fall worth the fallen state's learned reward for ever (fall_value: learned)",
    "state_only+zero_init_reward": "reward output layer at zero (no initial ordering of states)",
    "state_only+neutral_start": "zero-init reward and learned fall value",
    "state_only+neutral_start_fast_reward": "neutral start with a 10x reward step size (1e-3)",
    "state_only+fixed_horizon_zero_init": "fixed_horizon (learned temperature) and zero-init reward: no survival incentive left",
    "state_only+thesis_sac": "(64, 64) SAC nets with step size 3e-3 (the thesis text)",
    "state_only+fast_reward": "the official configuration with a 10x reward step size (1e-3)",
    "state_only+standardized_reward": "SAC on r_theta standardized: 0 on the policy's states, unit std over agent and expert states",
    "state_only+standardized_zero_init": "standardized, from a zero-init reward (the first reward step sets the ordering)",
    "state_only+thesis_sac+fast_reward": "(64, 64) SAC nets with step size 3e-3 and a 10x reward step size (1e-3): fast_reward at a third of the SAC cost",
    "state_only+fast_reward_decay": "reward Adam 1e-3 decayed as (k + 1)^-0.5 over reward steps k: fast early, still later",
    "state_only+mid_reward": "the official configuration with a 3x reward step size (3e-4)",
    "state_only+fast_reward+half_utd": "fast_reward with one SAC update per two env steps (UTD 0.5): half the SAC cost",
    "state_only+learned_alpha": "the official reward step with SAC's temperature learned (entropy target -|A|) instead of fixed at 0.2",
    "state_only+fast_reward_decay+learned_alpha": "fast_reward_decay with SAC's temperature learned (entropy target -|A|) instead of fixed at 0.2",
    "state_only+fast_reward_decay+standard_sac": "fast_reward_decay with the SAC step at our experts' Adam 3e-4 and batch 256 (official: 1e-3, 100)",
    "state_only+fast_reward_decay+standard_sac+small_nets": "fast_reward_decay+standard_sac with (64, 64) SAC nets: the same step at about a third of the SAC cost",
    "state_only+fast_reward_decay+standard_sac+small_nets+sac_lr_1e-3": "the (64, 64) nets at SAC Adam 1e-3 (between 3e-4, slow, and the thesis' 3e-3, which collapsed)",
    "state_only+fast_reward_decay+standard_sac+mid_nets": "fast_reward_decay+standard_sac with (128, 128) SAC nets: between the (256, 256) result and the (64, 64) cost",
    "state_only+fast_reward_decay+standard_sac+bf16": "fast_reward_decay+standard_sac under bf16-mixed precision (fp32 outputs): the same nets at about 1.65x the SAC loop speed on CPUs with bf16 units",
    "state_only+fast_reward_decay+standard_sac+half_utd": "fast_reward_decay+standard_sac with one SAC update per two env steps (UTD 0.5): the steadier step at about 0.55x its cost",
    "state_only+thesis_sac+fast_reward_decay": "(64, 64) SAC nets with step size 3e-3 and the decaying reward step: fast_reward_decay at a third of the SAC cost",
    "state_only+thesis_sac+reward_steps_10": "(64, 64) SAC nets with step size 3e-3 and 10 reward steps of Adam 1e-4 per iteration (AIHF's fix, results/aihf_hopper.md)",
    "state_action+thesis_sac+reward_steps_10": "the same with r(s, a)",
    "state_action+thesis_sac+sac_lr_1e-3+reward_steps_10": "r(s, a), (64, 64) SAC nets at Adam 1e-3 and 10 reward steps per iteration: the 3e-3 step's falls",
    "state_action+standard_sac+small_nets+reward_steps_10": "r(s, a), (64, 64) SAC nets at Adam 3e-4 and batch 256 and 10 reward steps per iteration",
    "state_action+thesis_sac+reward_steps_10+anchored_scale_penalty": "r(s, a), the cheap step with the reward's scale held (output_l2 0.5 around 5)",
    "state_action+thesis_sac+reward_steps_10+trajectory_scale_penalty": "r(s, a), the cheap step with the penalty sized to the loss's sums over T (output_l2 500 around 3: agent ~1, expert ~5)",
    "state_action+thesis_sac+reward_steps_10+agent_level": "r(s, a), the cheap step with the agent's mean learned reward held at 0.5 by a stiff penalty (agent_reward_level)",
    "state_action+thesis_sac+reward_steps_10+centered_reward": "r(s, a), the cheap step with the SAC step's reward centered: the agent's states at 0.5 (policy_reward_scale: centered)",
    "state_action+thesis_sac+reward_steps_10+bounded_reward": "r(s, a), the cheap step with scale and level bounded (output_l2 1000 around 1.5: agent ~0.5, expert ~2.5)",
}
REWARD_TAGS = {"reward/expert_step_mean": "expert states", "reward/agent_step_mean": "agent states", "reward/fallen_state_mean": "agent's fallen states"}
STANDING = (800.0, 1300.0)  # eval returns of a hopper that stands (the alive bonus of 1 per step, little forward motion)


def phase_of(curve: list[tuple[int, float]], budget: int) -> str:
    """How the policy spends the first ``budget`` env steps: the share of evaluations standing, falling (< 300) and hopping (> 1500)."""
    values = [v for step, v in curve if step <= budget]
    if not values:
        return "-"
    standing = np.mean([STANDING[0] <= v <= STANDING[1] for v in values])
    falling = np.mean([v < 300 for v in values])
    hopping = np.mean([v > 1500 for v in values])
    return f"{100 * standing:.0f}% / {100 * falling:.0f}% / {100 * hopping:.0f}%"


def report(seeds: list[int], budget: int) -> None:
    zoo = json.loads((ROOT / "zoo" / "zoo.json").read_text())
    expert = zoo["Hopper-v5"]["expert_return_mean"]
    rows, summaries, panels = [], {}, []
    for variant, description in CANDIDATES.items():
        runs = [benchmark_run("hopper", variant, seed) for seed in seeds]
        summary = eval_summary(runs, expert, finished_only="if_any")
        if not summary["seeds"]:
            rows.append([variant, description, "not run", *["-"] * len(SUMMARY_HEADER)])
            continue
        # The baseline ran 1M steps: its phases are counted over the same budget as the candidates'.
        phases = " · ".join(phase_of(curve, budget) for curve in summary["curves"].values())
        rewards = {tag: [run.scalars(tag) for run in runs] for tag in REWARD_TAGS}
        summary["reward_curves"] = {tag: {run.name: curve for run, curve in zip(runs, curves) if curve} for tag, curves in rewards.items()}
        summaries[variant] = summary
        rows.append([variant, description, phases, *summary_cells(summary)])
        panels.append((variant, summary))
    header = ["variant", "candidate", f"standing / falling / hopping evals up to {budget:,} (per seed)",
              *(cell.format(reference="expert") for cell in SUMMARY_HEADER)]
    lines = [
        "# The standing phase of ML-IRL on Hopper-v5: candidates side by side", "",
        "Command: `python " + " ".join(["tools/bench_standing.py", *sys.argv[1:]]) + "`", "",
        f"Standing: an evaluation return in [{STANDING[0]:.0f}, {STANDING[1]:.0f}] (the alive bonus, little forward motion); "
        "falling: below 300; hopping: above 1500. The baseline row is the official configuration's 1M-step runs, its "
        f"phases counted over the first {budget:,} env steps like the candidates'.", "",
        SUMMARY_LEGEND.format(reference="zoo expert"), "",
        *markdown_table(header, rows), "",
        "Curves: `standing_hopper.png` (top: eval return; bottom: mean learned reward on expert, agent and fallen agent states).",
    ]
    write_text_atomic(RESULTS / "standing_hopper.md", "\n".join(lines) + "\n")
    write_text_atomic(RESULTS / "standing_hopper.json", json.dumps(summaries, indent=1))
    plot(panels, expert, RESULTS / "standing_hopper.png")
    print("\n".join(lines))


def plot(panels: list[tuple[str, dict]], expert: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, len(panels), figsize=(4.2 * len(panels), 6.5), squeeze=False)
    for column, (variant, summary) in enumerate(panels):
        top, bottom = axes[0][column], axes[1][column]
        for name, curve in summary["curves"].items():
            top.plot([s for s, _ in curve], [v for _, v in curve], label=name.rsplit("/", 1)[-1])
        top.axhline(expert, color="k", linestyle="--", linewidth=0.8)
        top.axhspan(*STANDING, color="orange", alpha=0.1)
        top.set_title(variant.replace("state_only+", "+"), fontsize=9)
        top.set_ylabel("true return (eval)")
        for (tag, label), color in zip(REWARD_TAGS.items(), ("tab:green", "tab:blue", "tab:red")):
            for k, (name, curve) in enumerate(summary["reward_curves"].get(tag, {}).items()):
                bottom.plot([s for s, _ in curve], [v for _, v in curve], color=color, linewidth=0.8, label=label if k == 0 else None)
        bottom.set_xlabel("env steps")
        bottom.set_ylabel("mean learned reward")
        for axis in (top, bottom):
            axis.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
            if axis.get_legend_handles_labels()[0]:
                axis.legend(fontsize=6)
    save_figure(figure, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", default=[v for v in CANDIDATES if v != "state_only"], choices=list(CANDIDATES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--total-env-steps", type=int, default=300_000)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--carry", action="store_true")
    args = parser.parse_args()
    runs = [benchmark_run("hopper", variant, seed) for variant in args.variants for seed in args.seeds]
    if args.carry:
        for run in runs:
            run.carry()
        return
    if not args.report_only:
        train_runs(runs, args.total_env_steps, args.parallel)
    report(args.seeds, args.total_env_steps)


if __name__ == "__main__":
    main()
