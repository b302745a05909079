"""Offline ML-IRL and BC on Hopper-v5 x {medium, medium-replay, medium-expert} (thesis Table 3.1), the
1-trajectory row and offline reward transfer (thesis Fig. 3.5), with the offline baselines (ValueDICE,
CLARE: ``--stages value_dice clare``), through the results layer.

    python tools/bench_offline.py --stages data                       # the datasets (once per machine; see make_data)
    python tools/bench_offline.py --stages world_model                # one world model per dataset
    python tools/bench_offline.py --stages offline_ml_irl bc --seeds 0 1 2
    python tools/bench_offline.py --stages world_model offline_ml_irl --datasets medium --parallel 1 --seeds 0
    python tools/bench_offline.py --stages reward_transfer --seeds 0  # needs the medium-expert runs
    python tools/bench_offline.py --report-only --seeds 0 1 2         # -> results/offline_hopper.{md,json,png}
    python tools/bench_offline.py --carry --seeds 0 1 2

Every run is ``results/runs/offline_<stage>.../seed<k>`` and continues across sessions (``--carry``).
Offline ML-IRL and the reward transfer use the CPU profile (``configs/offline_ml_irl/overlays/cpu.yaml``:
10x fewer rollout start states, 250k gradient steps; world models capped at 40 epochs,
``configs/world_model/overlays/cpu.yaml``), marked in the table. BC learns from the expert
trajectories alone (as the thesis). Scores are normalized by our Hopper-v5 expert; the thesis' ratios
(to its 3512 expert) are beside them.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from lit_irl.benchmark import RESULTS, ROOT, BenchmarkRun, train_runs
from lit_irl.files import atomic_write, write_text_atomic
from lit_irl.reporting import SUMMARY_HEADER, SUMMARY_LEGEND, eval_summary, markdown_table, plot_curves, summary_cells

sys.path.insert(0, str(ROOT / "tools"))
import bench_learners  # noqa: E402

DATA = ROOT / "data"
CARRIED_DATA = RESULTS / "carry" / "data"  # datasets too slow to remake each session, committed
DATASETS = ("medium", "medium_replay", "medium_expert")
MEDIUM_STEP = 165_000  # env steps of the zoo's medium Hopper policy (zoo/README.md)
# Thesis Table 3.1 (Hopper, 5 expert trajectories; its expert 3512).
THESIS = {"medium": 0.70, "medium_replay": 0.87, "medium_expert": 0.95}
CPU = {"offline_ml_irl": ROOT / "configs/offline_ml_irl/overlays/cpu.yaml", "world_model": ROOT / "configs/world_model/overlays/cpu.yaml"}
OVERLAYS = ROOT / "configs/offline_ml_irl/overlays"


def dataset_path(dataset: str) -> Path:
    return DATA / f"hopper-{dataset.replace('_', '-')}.hdf5"


def world_model_run(dataset: str) -> BenchmarkRun:
    return BenchmarkRun(f"offline_world_model_{dataset}/seed0", [ROOT / f"configs/world_model/hopper_{dataset}.yaml", CPU["world_model"]],
                        ["--model.init_args.dataset", str(dataset_path(dataset))])


def irl_run(dataset: str, seed: int, trajectories: int = 5, variant: str = "") -> BenchmarkRun:
    """Offline ML-IRL on ``dataset``; ``variant``: overlays of ``configs/offline_ml_irl/overlays/`` joined by ``+``."""
    suffix = ("" if trajectories == 5 else f"_{trajectories}traj") + (f"+{variant}" if variant else "")
    overlays = [OVERLAYS / f"{name}.yaml" for name in variant.split("+") if name]
    if missing := [path.name for path in overlays if not path.exists()]:
        raise SystemExit(f"unknown Offline ML-IRL variant {variant!r}: no {', '.join(missing)} in {OVERLAYS.relative_to(ROOT)}")
    return BenchmarkRun(
        f"offline_ml_irl_{dataset}{suffix}/seed{seed}", [ROOT / f"configs/offline_ml_irl/hopper_{dataset}.yaml", CPU["offline_ml_irl"], *overlays],
        ["--model.init_args.dataset", str(dataset_path(dataset)), "--model.init_args.world_model", str(world_model_run(dataset).latest_checkpoint),
         "--model.init_args.num_expert_trajectories", str(trajectories), "--model.init_args.training.seed", str(seed)],
    )  # fmt: skip


def bc_run(seed: int) -> BenchmarkRun:
    # The same run as BC's own benchmark (tools/bench_learners.py): one run, not a second copy of it.
    return bench_learners.bc_run(5, seed)


def value_dice_run(seed: int) -> BenchmarkRun:
    return BenchmarkRun(f"offline_value_dice_5traj/seed{seed}", [ROOT / "configs/value_dice/hopper.yaml"],
                        ["--model.init_args.num_expert_trajectories", "5", "--model.init_args.training.seed", str(seed)])


def clare_run(dataset: str, seed: int) -> BenchmarkRun:
    return BenchmarkRun(
        f"offline_clare_{dataset}/seed{seed}", [ROOT / "configs/clare/hopper_medium.yaml"],
        ["--model.init_args.dataset", str(dataset_path(dataset)), "--model.init_args.world_model", str(world_model_run(dataset).latest_checkpoint),
         "--model.init_args.training.seed", str(seed)],
    )  # fmt: skip


def transfer_run(seed: int) -> BenchmarkRun:
    return BenchmarkRun(
        f"offline_reward_transfer/seed{seed}", [ROOT / "configs/mopo/hopper_medium_replay_reward_transfer.yaml"],
        ["--model.init_args.dataset", str(dataset_path("medium_replay")), "--model.init_args.world_model",
         str(world_model_run("medium_replay").latest_checkpoint), "--model.init_args.reward_from",
         str(irl_run("medium_expert", seed).latest_checkpoint), "--model.init_args.training.seed", str(seed)],
    )  # fmt: skip


def copy_atomic(source: Path, target: Path) -> None:
    with atomic_write(target) as tmp:
        shutil.copyfile(source, tmp)


def make_data(datasets: tuple[str, ...] = DATASETS) -> None:
    """The datasets from the zoo's Hopper policies (D4RL protocol, our v5 data)."""
    cli = [sys.executable, "-m", "lit_irl.data.cli"]
    zoo = ROOT / "zoo" / "Hopper-v5"
    DATA.mkdir(exist_ok=True)
    if "medium" in datasets and not dataset_path("medium").exists():
        subprocess.run([*cli, "offline", "--kind", "medium", "--policy", str(zoo / "medium.pt"), "--out", str(dataset_path("medium"))], check=True)
    if "medium_expert" in datasets and not dataset_path("medium_expert").exists():
        subprocess.run([*cli, "offline", "--kind", "medium-expert", "--medium-policy", str(zoo / "medium.pt"), "--expert-policy",
                        str(zoo / "expert.pt"), "--out", str(dataset_path("medium_expert"))], check=True)  # fmt: skip
    if "medium_replay" not in datasets:
        return
    carried = CARRIED_DATA / dataset_path("medium_replay").name
    if not dataset_path("medium_replay").exists() and carried.exists():
        # 40 min of SAC to remake, 16 MB to keep: the carried copy is the file the carried world model was fitted on.
        copy_atomic(carried, dataset_path("medium_replay"))
    if not dataset_path("medium_replay").exists():
        # The replay buffer of the expert's SAC run up to the medium policy's step: the same config and seed as the zoo's run.
        sac = BenchmarkRun("offline_sac_replay/seed0", [ROOT / "configs/sac/hopper.yaml"], ["--checkpoint.keep_all", "false"])
        if sac.train(MEDIUM_STEP) != 0:
            raise SystemExit(f"the SAC run for medium-replay failed: {sac.folder / 'train.log'}")
        subprocess.run([*cli, "offline", "--kind", "medium-replay", "--checkpoint", str(sac.last_checkpoint), "--up-to-env-steps",
                        str(MEDIUM_STEP), "--out", str(dataset_path("medium_replay"))], check=True)  # fmt: skip
        CARRIED_DATA.mkdir(parents=True, exist_ok=True)
        copy_atomic(dataset_path("medium_replay"), carried)


def runs_of(stage: str, seeds: list[int], datasets: tuple[str, ...] = DATASETS, variants: tuple[str, ...] = ("",)) -> list[BenchmarkRun]:
    if stage == "world_model":
        return [world_model_run(d) for d in datasets]
    if stage == "offline_ml_irl":
        one_trajectory = [irl_run("medium", s, 1) for s in seeds] if "medium" in datasets and "" in variants else []
        return [irl_run(d, s, variant=v) for v in variants for d in datasets for s in seeds] + one_trajectory
    if stage == "bc":
        return [bc_run(s) for s in seeds]
    if stage == "value_dice":
        return [value_dice_run(s) for s in seeds]
    if stage == "clare":
        return [clare_run(d, s) for d in datasets for s in seeds]
    if stage == "reward_transfer":
        return [transfer_run(s) for s in seeds if irl_run("medium_expert", s).finished()]
    raise ValueError(stage)


def holdout(dataset: str) -> str:
    run = world_model_run(dataset)
    values = {tag: run.scalars(f"eval/holdout_{tag}") or run.scalars(f"world_model/holdout_{tag}") for tag in ("mse", "nll")}
    return " / ".join(f"{points[-1][1]:.4f}" if points else "-" for points in values.values())


def report(seeds: list[int], variants: tuple[str, ...] = ()) -> None:
    zoo = json.loads((ROOT / "zoo" / "zoo.json").read_text())
    expert = zoo["Hopper-v5"]["expert_return_mean"]
    rows_spec = [(f"Offline ML-IRL, {d.replace('_', '-')} (CPU profile)", [irl_run(d, s) for s in seeds], THESIS[d], d) for d in DATASETS]
    for variant in (v for v in variants if v):  # a variant's row only where it ran: variants are probes
        for d in DATASETS:
            runs = [irl_run(d, s, variant=variant) for s in seeds]
            if any(any(run.events_folder.glob("events.out.tfevents.*")) for run in runs):  # run here, or its events carried
                rows_spec.append((f"Offline ML-IRL, {d.replace('_', '-')} (CPU profile + {variant})", runs, None, d))
    rows_spec += [("Offline ML-IRL, medium, 1 expert trajectory (CPU profile)", [irl_run("medium", s, 1) for s in seeds], None, "medium"),
                  ("BC, 5 expert trajectories (no dataset)", [bc_run(s) for s in seeds], None, None),
                  ("ValueDICE, 5 expert trajectories (no dataset)", [value_dice_run(s) for s in seeds], None, None),
                  *((f"CLARE, {d.replace('_', '-')}", [clare_run(d, s) for s in seeds], None, d) for d in DATASETS),
                  ("reward transfer: MOPO on medium-replay, reward learned on medium-expert", [transfer_run(s) for s in seeds], None, "medium_replay")]
    summaries, rows = {}, []
    for name, runs, thesis, dataset in rows_spec:
        summary = eval_summary(runs, expert, "gradient_steps", finished_only="if_any")
        summaries[name] = summary
        epic = [run.scalars("reward_recovery/epic") for run in runs if run.name not in summary.get("unfinished", {})]
        epic = [points[-1][1] for points in epic if points]
        rows.append([name, *summary_cells(summary), f"{thesis:.2f}" if thesis else "-",
                     f"{sum(epic) / len(epic):.3f}" if epic else "-", holdout(dataset) if dataset else "-"])
    header = ["setting", *(cell.format(reference="expert").replace("env steps", "gradient steps") for cell in SUMMARY_HEADER), "thesis ratio", "EPIC (0 best)", "world model holdout MSE / NLL"]
    lines = [
        "# Offline ML-IRL on Hopper-v5 (thesis Table 3.1)", "",
        "Command: `python " + shlex.join(["tools/bench_offline.py", *sys.argv[1:]]) + "`", "",
        SUMMARY_LEGEND.format(reference="Hopper-v5 zoo expert").replace("env steps", "gradient steps"), "",
        *markdown_table(header, rows), "",
        "Thesis ratios are to its own expert (3512 on Hopper-v2, D4RL data); ours to our v5 expert on our v5 datasets.",
    ]
    RESULTS.mkdir(exist_ok=True)
    write_text_atomic(RESULTS / "offline_hopper.md", "\n".join(lines) + "\n")
    write_text_atomic(RESULTS / "offline_hopper.json", json.dumps(summaries, indent=1))
    panels = [(name.split(" (")[0], s["curves"], expert, "expert") for name, s in summaries.items() if s["curves"]]
    if panels:
        plot_curves(panels, RESULTS / "offline_hopper.png", "gradient steps")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stages", nargs="+", default=["world_model", "offline_ml_irl", "bc", "reward_transfer"],
                        choices=["data", "world_model", "offline_ml_irl", "bc", "value_dice", "clare", "reward_transfer"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS,
                        help="make these datasets and train their world model, Offline ML-IRL and CLARE runs only (the report shows all)")
    parser.add_argument("--variants", nargs="+", default=[""], metavar="OVERLAY[+OVERLAY]",
                        help="Offline ML-IRL variants: overlays of configs/offline_ml_irl/overlays/ joined by '+' ('' = the CPU profile alone)")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--carry", action="store_true", help="do not train: pack the runs for the next session into results/carry/")
    args = parser.parse_args()
    stages = [s for s in args.stages if s != "data"]
    if args.carry:
        for run in (run for stage in stages for run in runs_of(stage, args.seeds, variants=tuple(args.variants))):
            if run.folder.exists():
                run.carry()
        return
    if not args.report_only:
        if "data" in args.stages:
            make_data(tuple(args.datasets))
        for stage in stages:  # in order: each stage reads the previous one's checkpoints
            train_runs(runs_of(stage, args.seeds, tuple(args.datasets), tuple(args.variants)), None, args.parallel)
    report(args.seeds, tuple(args.variants))


if __name__ == "__main__":
    main()
