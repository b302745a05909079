"""AIHF against the RLHF pipeline, ML-IRL (demonstrations only) and preference-only reward learning
on Hopper-v5 (AIHF v1 Sec. 6.1 / v2 Fig. 5), through the results layer.

    lit-irl-data preferences ... --out data/hopper-prefs.hdf5      # the data: see configs/aihf/hopper.yaml
    python tools/bench_aihf.py --seeds 0 1 2                        # train (continues carried runs), then report
    python tools/bench_aihf.py --seeds 0 1 2 --report-only          # -> results/aihf_hopper.{md,json,png}
    python tools/bench_aihf.py --seeds 0 1 2 --carry
    python tools/bench_aihf.py --labels return --methods aihf rlhf --seeds 0   # on segment-return labels

Preference labels (``--labels``, each a data file; ``ml_irl`` reads none):

- ``tier`` (default; ``data/hopper-prefs.hdf5``): the paper's classes as the issue reads them, the winner
  from the medium class and the loser from the low class, on 50-step windows. On Hopper-v5 the two
  classes earn the same reward per step (the low class falls earlier), so about half of these labels
  disagree with the windows' true returns (the report prints the share);
- ``return`` (``data/hopper-prefs-return.hdf5``, runs ``..._return_labels``): the same pairs of windows
  labelled by their true returns (the synthetic oracle of Christiano et al.; ours).

Methods (each ``results/runs/aihf_<method>/seed<k>``), all with AIHF's SAC step and reward net:

- ``aihf``: configs/aihf/hopper.yaml (w1 = 1, demonstrations and preferences);
- ``ml_irl``: the same without preferences (demonstrations only; ours: the paper runs no such row);
- ``preference_only``: the same with w1 = 0 (ours);
- ``rlhf``: BC on the 10 demonstrations (``rlhf_bc``, (64, 64) actor) -> BT reward model on the
  preferences (``rlhf_reward``) -> SAC from the BC policy on the frozen reward (``rlhf``); BC and the
  reward model cost no env steps and are reported apart;
- ``w1_0.1``, ``w1_10``: the demonstration / preference weight ablation (ours; the paper's is on an LLM);
- ``aihf_fast_reward``: ``aihf`` with reward Adam 1e-3 instead of the paper's 1e-4 (ours; see results/standing_hopper.md);
- ``aihf_fast_reward_decay``: the same step decayed as 1e-3 / (k + 1)^0.5 over reward steps k (ours).
- ``aihf_stable_step``: that decaying step with SAC at Adam 3e-4 and batch 256 on the paper's (64, 64) nets (ours).

Modifiers, appended to any method but ``rlhf`` (``aihf+reward_steps_10`` runs ``aihf_aihf_reward_steps_10``):

- ``+reward_steps_10``: 10 reward steps per iteration (ours: the paper does not say how many; at one, 200
  reward steps of Adam 1e-4 over 1M env steps leave the BT term unfitted and AIHF stands like ML-IRL).

The paper reports curves only; its claim is the ordering AIHF > RLHF. The x-axis is SAC env steps
(RLHF: after BC). Evaluation is the true return, never used for selection.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from lit_irl.benchmark import RESULTS, ROOT, BenchmarkRun, train_runs
from lit_irl.files import write_text_atomic
from lit_irl.reporting import (
    SUMMARY_HEADER, SUMMARY_LEGEND, eval_summary, improvement_rows, markdown_table, method_scores, plot_curves,
    plot_performance_profiles,
)  # fmt: skip

CONFIGS = {"aihf": ROOT / "configs/aihf/hopper.yaml", "bc": ROOT / "configs/bc/hopper.yaml",
           "reward": ROOT / "configs/preference_reward/hopper.yaml", "rlhf": ROOT / "configs/rlhf/hopper.yaml"}  # fmt: skip
# label set -> (preference file, run-name suffix, words added to a method's row)
LABELS = {
    "tier": (ROOT / "data" / "hopper-prefs.hdf5", "", ""),
    "return": (ROOT / "data" / "hopper-prefs-return.hdf5", "_return_labels", "; segment-return labels"),
}
METHODS = {
    "aihf": ("AIHF (demonstrations + preferences, w1 = 1)", []),
    "rlhf": ("RLHF pipeline (BC -> BT reward model -> SAC)", None),
    "ml_irl": ("ML-IRL (demonstrations only; ours)", ["--model.init_args.preferences", "null"]),
    "preference_only": ("preferences only (w1 = 0; ours)", ["--model.init_args.w1", "0.0"]),
    "w1_0.1": ("AIHF, w1 = 0.1 (ablation, ours)", ["--model.init_args.w1", "0.1"]),
    "w1_10": ("AIHF, w1 = 10 (ablation, ours)", ["--model.init_args.w1", "10.0"]),
    # ML-IRL's standing phase on Hopper goes away with a 10x reward step (results/standing_hopper.md); AIHF,
    # on the same SAC step and reward step, stands the same way at the paper's 1e-4.
    "aihf_fast_reward": ("AIHF, reward Adam 1e-3 (ours: ML-IRL's fix of the standing phase)", ["--model.init_args.reward.lr", "1e-3"]),
    # ...and swings once it reaches the expert (3150 at 500k, 199 at 700k), as ML-IRL at 1e-3 does; ML-IRL's
    # decaying step (configs/ml_irl/overlays/fast_reward_decay.yaml) on the same schedule of reward steps.
    "aihf_fast_reward_decay": (
        "AIHF, reward Adam 1e-3 / (k + 1)^0.5 (ours: ML-IRL's decaying step)",
        ["--model.init_args.reward.lr", "1e-3", "--model.init_args.reward.lr_decay_power", "0.5"],
    ),
    # The decaying reward step with the SAC step at Adam 3e-4 and batch 256 (the paper's (64, 64) nets kept): ML-IRL's
    # candidate fast_reward_decay+standard_sac+small_nets (configs/ml_irl/overlays/; at (256, 256) that step held past 500k).
    "aihf_stable_step": (
        "AIHF, reward Adam 1e-3 / (k + 1)^0.5, SAC Adam 3e-4, batch 256 (ours)",
        ["--model.init_args.reward.lr", "1e-3", "--model.init_args.reward.lr_decay_power", "0.5", "--model.init_args.sac.actor_lr", "3e-4",
         "--model.init_args.sac.critic_lr", "3e-4", "--model.init_args.sac.batch_size", "256"],
    ),
}
# Modifiers compose with any method but rlhf: ``ml_irl+reward_steps_10`` runs ``results/runs/aihf_ml_irl_reward_steps_10``.
MODIFIERS = {
    # The paper gives the reward's step size (1e-4) but not its steps per alignment phase; at one, AIHF's reward
    # ends 1M env steps at held-out preference accuracy 0.52-0.54, where the BT reward model alone reaches 1.00.
    "reward_steps_10": ("10 reward steps per iteration (ours)", ["--model.init_args.reward_steps_per_iteration", "10"]),
}
BC_OVERRIDES = ["--model.init_args.num_trajectories", "10", "--model.init_args.actor_hidden", "[64, 64]"]


def seeded(seed: int) -> list[str]:
    return ["--model.init_args.training.seed", str(seed)]


def method_parts(method: str) -> tuple[str, list[str]]:
    """``base[+modifier...]`` -> (base, modifiers)."""
    base, *modifiers = method.split("+")
    return base, modifiers


def method_spec(text: str) -> str:
    """``base[+modifier...]`` checked against METHODS and MODIFIERS (argparse type)."""
    base, modifiers = method_parts(text)
    if base not in METHODS or any(m not in MODIFIERS for m in modifiers) or (base == "rlhf" and modifiers):
        raise argparse.ArgumentTypeError(
            f"unknown method {text!r}: use one of {sorted(METHODS)}, optionally followed by +{'/+'.join(MODIFIERS)} (not on rlhf)")
    return text


def method_words(method: str) -> str:
    base, modifiers = method_parts(method)
    return ", ".join([METHODS[base][0], *(MODIFIERS[m][0] for m in modifiers)])


def method_overrides(method: str) -> list[str]:
    base, modifiers = method_parts(method)
    return [*METHODS[base][1], *(arg for m in modifiers for arg in MODIFIERS[m][1])]


def reads_labels(method: str) -> bool:
    return method_parts(method)[0] != "ml_irl"


def run_key(method: str, labels: str) -> str:
    """The run's name under ``results/runs/aihf_*`` and its key in the report: ML-IRL reads no labels."""
    key = method.replace("+", "_")
    return key + LABELS[labels][1] if reads_labels(method) else key


def label_overrides(labels: str) -> list[str]:
    # The default file is the configs' own: the tier runs keep the command they were started with.
    return [] if labels == "tier" else ["--model.init_args.preferences", str(LABELS[labels][0])]


def method_run(method: str, seed: int, labels: str = "tier") -> BenchmarkRun:
    name = f"aihf_{run_key(method, labels)}/seed{seed}"
    if method == "rlhf":
        bc, reward = rlhf_stage("bc", seed), rlhf_stage("reward", seed, labels)
        extra = ["--model.init_args.init_from", str(bc.latest_checkpoint), "--model.init_args.reward_from", str(reward.latest_checkpoint)]
        return BenchmarkRun(name, [CONFIGS["rlhf"]], [*extra, *seeded(seed)])
    overrides = label_overrides(labels) if reads_labels(method) else []
    return BenchmarkRun(name, [CONFIGS["aihf"]], [*method_overrides(method), *overrides, *seeded(seed)])


def rlhf_stage(stage: str, seed: int, labels: str = "tier") -> BenchmarkRun:
    if stage == "bc":  # BC reads the demonstrations only
        return BenchmarkRun(f"aihf_rlhf_bc/seed{seed}", [CONFIGS["bc"]], [*BC_OVERRIDES, *seeded(seed)])
    return BenchmarkRun(f"aihf_rlhf_reward{LABELS[labels][1]}/seed{seed}", [CONFIGS["reward"]], [*label_overrides(labels), *seeded(seed)])


def planned_runs(methods: list[str], seeds: list[int], label_sets: list[str]) -> list[tuple[str, str, int]]:
    """(method, labels, seed) of every run asked for; ML-IRL once whatever the label sets."""
    plan = {(m, labels if reads_labels(m) else "tier", s) for m in methods for labels in label_sets for s in seeds}
    return sorted(plan, key=lambda item: (label_sets.index(item[1]) if item[1] in label_sets else 0, methods.index(item[0]), item[2]))


def train(methods: list[str], seeds: list[int], label_sets: list[str], total: int | None, parallel: int) -> None:
    if "rlhf" in methods:  # its first two stages are cheap and offline: before the online runs
        stages = {rlhf_stage("bc", seed).name: rlhf_stage("bc", seed) for seed in seeds}
        stages |= {run.name: run for run in (rlhf_stage("reward", seed, labels) for labels in label_sets for seed in seeds)}
        train_runs(list(stages.values()), None, parallel)
    train_runs([method_run(m, s, labels) for m, labels, s in planned_runs(methods, seeds, label_sets)], total, parallel)


def report(methods: list[str], seeds: list[int], label_sets: list[str]) -> None:
    zoo = json.loads((ROOT / "zoo" / "zoo.json").read_text())
    expert = zoo["Hopper-v5"]["expert_return_mean"]
    plan = list(dict.fromkeys((m, labels) for m, labels, _ in planned_runs(methods, seeds, label_sets)))
    summaries = {run_key(m, labels): eval_summary([method_run(m, seed, labels) for seed in seeds], expert) for m, labels in plan}
    # A row per label set a method ran on; a method never run at all keeps one empty row (the table's plan).
    ran = {m for m, labels in plan if summaries[run_key(m, labels)]["curves"]}
    plan = [(m, labels) for m, labels in plan if summaries[run_key(m, labels)]["curves"] or (m not in ran and labels == label_sets[0])]
    summaries = {run_key(m, labels): summaries[run_key(m, labels)] for m, labels in plan}
    words = {run_key(m, labels): (method_words(m), LABELS[labels][2] if reads_labels(m) else "") for m, labels in plan}
    names = {key: name + suffix for key, (name, suffix) in words.items()}
    header = ["method", *(cell.format(reference="expert") for cell in SUMMARY_HEADER)]
    from lit_irl.reporting import summary_cells

    rows = [[names[key], *summary_cells(summary)] for key, summary in summaries.items()]
    costs = []
    if "rlhf" in methods:
        for stage, stage_labels in [("bc", "tier"), *(("reward", labels) for labels in label_sets)]:
            runs = [rlhf_stage(stage, seed, stage_labels) for seed in seeds]
            hours = [run.wall_seconds("gradient_steps") / 3600 for run in runs if run.scalars("eval/return_mean") or run.latest_checkpoint.exists()]
            what = f"RLHF {stage} stage" + (LABELS[stage_labels][2] if stage == "reward" else "")
            # What a reward model learned: the held-out labels, and the true returns of the windows.
            accuracy = [curve[-1][1] for run in runs if (curve := run.scalars("eval/heldout_accuracy"))]
            pearson = [curve[-1][1] for run in runs if (curve := run.scalars("eval/pearson_segments"))]
            fit = f"; held-out pair accuracy {np.mean(accuracy):.2f}, Pearson with the windows' true returns {np.mean(pearson):.2f}" if accuracy and pearson else ""
            costs.append(f"{what}: {len(hours)} run(s), {sum(hours) / max(len(hours), 1):.2f} h each, no env steps{fit}")
    scores = method_scores(summaries)
    # Each AIHF variant against RLHF, and against ML-IRL and preference-only under the same modifiers.
    comparisons = [
        (run_key(m, labels), run_key(other, labels)) for labels in label_sets for m in methods if method_parts(m)[0] == "aihf"
        for other in ("rlhf", *(m.replace("aihf", base, 1) for base in ("ml_irl", "preference_only")))
    ]
    improvements = improvement_rows(scores, comparisons)
    quality = ""
    files = {labels: LABELS[labels][0] for labels in label_sets if LABELS[labels][0].exists()}
    if files:
        from lit_irl.data.cli import quality_table
        from lit_irl.data.d4rl import load_dataset
        from lit_irl.data.preferences import load_preferences

        demos = load_dataset(ROOT / "zoo/Hopper-v5/expert_demos.hdf5").episode_returns()
        quality = quality_table("Hopper-v5", load_preferences(next(iter(files.values()))), demos)
        quality += "\n\nLabels agreeing with the true returns of the two 50-step windows: " + ", ".join(
            f"{labels} labels {load_preferences(path).label_agreement():.3f}" for labels, path in files.items())
    lines = [
        "# AIHF vs the RLHF pipeline on Hopper-v5", "",
        "Command: `python " + " ".join(["tools/bench_aihf.py", *sys.argv[1:]]) + "`", "",
        SUMMARY_LEGEND.format(reference="Hopper-v5 zoo expert"), "",
        *markdown_table(header, rows), "",
        *(["Probability of improvement (normalized last-5 scores):", "", *markdown_table(["X", "Y", "P(X > Y) [95% CI]", "seeds"], improvements), ""] if improvements else []),
        *([f"- {cost}" for cost in costs] + [""] if costs else []),
        "Data quality (the paper's Table 1 layout; trajectory returns, ratio to the demonstrations):", "", quality, "",
        "The paper (Hopper-v2) reports curves only and claims AIHF > RLHF.",
    ]
    RESULTS.mkdir(exist_ok=True)
    write_text_atomic(RESULTS / "aihf_hopper.md", "\n".join(lines) + "\n")
    write_text_atomic(RESULTS / "aihf_hopper.json", json.dumps(summaries, indent=1))
    panels = [(words[key][0].split(" (")[0] + words[key][1], s["curves"], expert, "expert") for key, s in summaries.items() if s["curves"]]
    if panels:
        plot_curves(panels, RESULTS / "aihf_hopper.png", "SAC env steps")
    if len(scores) > 1:
        plot_performance_profiles(scores, RESULTS / "aihf_hopper_profiles.png", "Hopper-v5, normalized by the expert")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=["aihf", "rlhf", "ml_irl", "preference_only"], type=method_spec,
                        help="METHOD[+MODIFIER]: see above")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--labels", nargs="+", default=["tier"], choices=list(LABELS), help="preference label sets (see above)")
    parser.add_argument("--total-env-steps", type=int, help="override the configs' budget (1M)")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--carry", action="store_true", help="do not train: pack the runs for the next session into results/carry/")
    args = parser.parse_args()
    if args.carry:
        runs = [method_run(m, s, labels) for m, labels, s in planned_runs(args.methods, args.seeds, args.labels)]
        if "rlhf" in args.methods:
            runs += [rlhf_stage("bc", s) for s in args.seeds] + [rlhf_stage("reward", s, labels) for labels in args.labels for s in args.seeds]
        for run in runs:
            if run.folder.exists():
                run.carry()
        return
    if not args.report_only:
        for labels in args.labels:
            if not LABELS[labels][0].exists():
                raise SystemExit(f"bench_aihf: {LABELS[labels][0].relative_to(ROOT)} is missing: build it with the command in configs/aihf/hopper.yaml")
        train(args.methods, args.seeds, args.labels, args.total_env_steps, args.parallel)
    report(args.methods, args.seeds, args.labels)


if __name__ == "__main__":
    main()
