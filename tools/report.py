"""One results page: every table of the project re-made from its runs, with commands, budgets,
curves, videos of the final policies and how each compares with the paper.

    python tools/report.py                 # re-make every table (from the runs, else their carried events) and results/README.md
    python tools/report.py --videos        # also render the videos that are missing (results/videos/, seed 0's final policy)
    python tools/report.py --page-only     # only results/README.md, from the tables' JSON as they are

Each table is still made by its own benchmark script (``--report-only``), through the one results
layer (:mod:`lit_irl.reporting`): IQM with 95% CIs over seeds, curves with CI bands, EPIC where a
reward was learned. A table whose script has nothing to read (no runs, no carried events) is
listed as not run.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
sys.path.insert(0, str(ROOT))

from lit_irl.files import write_text_atomic  # noqa: E402
from lit_irl.reporting import markdown_table  # noqa: E402

sys.path.insert(0, str(ROOT / "tools"))
from bench_baselines import THESIS as THESIS_BASELINES  # noqa: E402  (thesis Table 2.1, Hopper, kept once)
from bench_baselines import THESIS_EXPERT  # noqa: E402
from bench_transfer import PAPER as THESIS_TRANSFER  # noqa: E402  (thesis Table 2.2, kept once)


@dataclass
class Video:
    label: str
    policy: str  # a checkpoint or exported policy, relative to the repo root
    out: str  # under results/videos/


@dataclass
class ResultTable:
    title: str
    stem: str  # results/<stem>.{md,json,png}
    train: str
    report: str
    about: str
    paper: Callable[[dict | list], str]
    videos: list[Video] = field(default_factory=list)
    extra_images: list[str] = field(default_factory=list)
    run_prefix: str | None = None  # re-made only once a run folder results/{runs,carry}/<prefix>* exists

    def has_runs(self) -> bool:
        return self.run_prefix is None or any(
            any((RESULTS / kind).glob(f"{self.run_prefix}*")) for kind in ("runs", "carry") if (RESULTS / kind).is_dir()
        )


def _rows(data: dict | list) -> list[dict]:
    """The summaries of a results JSON (other entries, e.g. the transfer table's random policy, have no seeds)."""
    return [row for row in (data if isinstance(data, list) else data.values()) if isinstance(row, dict) and "seeds" in row]


def _ratio(summary: dict) -> str:
    ci = summary.get("recent_iqm_ratio")
    if not ci:
        unfinished = summary.get("unfinished") or {}
        return f"unfinished ({', '.join(f'{run} at {steps:,} steps' for run, steps in unfinished.items())})" if unfinished else "not run"
    point, low, high = ci
    return f"{point:.2f}" + (f" [{low:.2f}, {high:.2f}]" if high > low else "") + f" ({summary['seeds']} seed{'s' * (summary['seeds'] != 1)}, {summary['env_steps']:,} steps)"


# Thesis Table 2.1, ML-IRL(S) and ML-IRL(SA) over its expert, per env (Hopper-v2 etc.).
THESIS_ML_IRL = {
    "Hopper-v5": {"state_only": 3089.79 / 3592.63, "state_action": 3121.68 / 3592.63},
    "HalfCheetah-v5": {"state_only": 4472.85 / 5098.3, "state_action": 4086.92 / 5098.3},
    "Walker2d-v5": {"state_only": 4380.17 / 5344.21, "state_action": 4504.88 / 5344.21},
    "Ant-v5": {"state_only": 4675.34 / 5926.18, "state_action": 4984.34 / 5926.18},
    "Humanoid-v5": {"state_only": 5390.31 / 5351.08, "state_action": 5240.57 / 5351.08},
}


ML_IRL_ENVS = ["hopper", "halfcheetah", "walker2d", "ant", "humanoid"]  # results/ml_irl_<env>.json, the thesis's column order


def table_2_1(results: Path) -> list[str]:
    """ML-IRL across envs in the thesis Table 2.1 layout: one row per reward form and configuration (its overlays),
    one column per env, each cell the IQM ratio of the last-5 scores over seeds; the thesis's ratios below."""
    envs = {env: json.loads(path.read_text()) for env in ML_IRL_ENVS if (path := results / f"ml_irl_{env}.json").exists()}
    if not envs:
        return []
    env_ids = {env: next((row["env"] for row in _rows(data)), env) for env, data in envs.items()}
    cells: dict[tuple[str, str], dict[str, str]] = {}
    for env, data in envs.items():
        for row in _rows(data):
            form, _, config = row["variant"].partition("+")
            if row["seeds"] and form in ("state_only", "state_action"):
                point = row["recent_iqm_ratio"][0]
                cells.setdefault((form, config), {})[env] = f"{point:.2f} ({row['seeds']} seed{'s' * (row['seeds'] != 1)}, {row['env_steps'] / 1e6:g}M)"
    label = {"state_only": "ML-IRL(S)", "state_action": "ML-IRL(SA)"}
    rows = [[f"{label[form]}, {config or 'official configuration'}", *(cells[form, config].get(env, "-") for env in envs)]
            for form, config in sorted(cells, key=lambda key: (key[1], key[0] != "state_only"))]
    rows += [[f"{label[form]}, thesis", *(f"{THESIS_ML_IRL.get(env_ids[env], {}).get(form, float('nan')):.2f}" for env in envs)]
             for form in label]
    header = ["ML-IRL, reward and configuration", *(env_ids[env] for env in envs)]
    return [
        "## ML-IRL across envs (thesis Table 2.1 layout)", "",
        "Ratio of each configuration's IQM of the seeds' last-5-evaluation scores to our zoo expert (seeds, env steps); "
        "the thesis's ratios are to its own experts (v2 envs). Only finished seeds count; the per-env sections below "
        "have the CIs, the unfinished runs and the commands.", "",
        *markdown_table(header, rows), "",
    ]


def ml_irl_paper(data: list) -> str:
    # Every variant of a reward form (its overlays) is held against the paper's number for that form and env.
    parts = []
    for row in _rows(data):
        name, paper = row["variant"], THESIS_ML_IRL.get(row.get("env", "Hopper-v5"), {})
        if name.split("+")[0] in paper and "official_reward_step" not in name:
            parts.append(f"{name}: ours {_ratio(row)} of our expert, paper {paper[name.split('+')[0]]:.2f} of its expert")
    return "; ".join(parts)


def transfer_paper(data: dict) -> str:
    # Thesis Table 2.2 over its ground-truth SAC: ML-IRL(S), then the baselines once they have runs.
    thesis = THESIS_TRANSFER
    shown = [name for name in thesis if name != "ground_truth" and name in data
             and (name in ("data_transfer", "reward_transfer") or data[name].get("curves"))]
    return "; ".join(f"{name.replace('f_irl_', 'f-IRL ').replace('airl_', 'AIRL ').replace('_', ' ')}: ours {_ratio(data[name])} of our "
                     f"ground-truth SAC, thesis {thesis[name] / thesis['ground_truth']:.2f}" for name in shown)


def standing_paper(data: dict) -> str:
    hopping = {variant: _ratio(summary) for variant, summary in data.items()}
    return ("no paper number (a diagnosis); the paper's Hopper ratio is 0.86 at 1M. Last-5-evaluation ratios: "
            + "; ".join(f"{variant}: {ratio}" for variant, ratio in hopping.items()))


def aihf_paper(data: dict) -> str:
    ours = {name: _ratio(summary) for name, summary in data.items()}
    return "the paper reports curves only and claims AIHF > RLHF on Hopper-v2; ours: " + "; ".join(f"{name}: {ratio}" for name, ratio in ours.items())


def offline_paper(data: dict) -> str:
    thesis = {"medium": 0.70, "medium-replay": 0.87, "medium-expert": 0.95}  # thesis Table 3.1, Offline ML-IRL / its expert
    rows = {name: summary for name, summary in data.items() if name.startswith("Offline ML-IRL, ") and "1 expert" not in name}

    parts = []
    for name, summary in rows.items():  # "Offline ML-IRL, medium-replay (CPU profile + fast_reward)" -> dataset, variant
        dataset, _, profile = name.split(", ")[1].partition(" (")
        variant = profile.rstrip(")").partition(" + ")[2]
        parts.append(f"{dataset}{' + ' + variant if variant else ''}: ours {_ratio(summary)}, thesis {thesis.get(dataset, float('nan')):.2f}")
    return "; ".join(parts)


def baselines_paper(data: dict) -> str:
    return "; ".join(f"{name}: ours {_ratio(data[name])}, thesis {value / THESIS_EXPERT:.2f}"
                     for name, value in THESIS_BASELINES.items() if value is not None and name in data)


def learners_paper(data: dict) -> str:
    ppo = data.get("ppo", {})
    training = ppo.get("final_training_return_mean")
    return (f"PPO training-episode return at the end {training:.0f} vs CleanRL's published 2383 ± 272 (Hopper-v4, 1M steps); "
            f"BC from 1 / 5 / 25 trajectories: {', '.join(_ratio(data[k]).split(' (')[0] for k in ('bc_1', 'bc_5', 'bc_25') if k in data)} of the expert"
            if training else "not run")


def sequence_paper(data: dict) -> str:
    def win(name: str) -> str:
        values = data.get(f"IRL vs SFT across demonstration counts: {name}", {}).get("win_rate_vs_expert")
        return f"{sum(values) / len(values):.2f}" if values else "-"

    return (f"TL;DR win rate SFT 24% -> IRL 33% (paper 001; against a stronger model, a direction only); ours at N = 1000, win rate "
            f"against the expert: SFT {win('SFT, N = 1000')} -> IRL {win('IRL (irl_exact), N = 1000')}")


TABLES = [
    ResultTable(
        "ML-IRL on Hopper-v5 (thesis Table 2.1, Hopper row)", "ml_irl_hopper",
        "python tools/bench_ml_irl.py --envs hopper --variants state_only+fast_reward_decay+standard_sac state_action+fast_reward_decay+standard_sac --seeds 0 1 2",
        "python tools/bench_ml_irl.py --envs hopper --variants state_only state_action state_only+official_reward_step "
        "state_only+fast_reward_decay+standard_sac state_action+fast_reward_decay+standard_sac state_only+thesis_sac+reward_steps_10 "
        "state_action+thesis_sac+reward_steps_10 --seeds 0 1 2 --report-only",
        "ML-IRL from one expert trajectory, state-only r(s) and state-action r(s, a) rewards, 1M env steps: the official "
        "configuration (`state_only`, `state_action`; its reward step alone as an overlay, one seed, 200k) and the steadier "
        "step found against the standing phase (`+fast_reward_decay+standard_sac`: reward Adam 1e-3 / (k + 1)^0.5, SAC Adam "
        "3e-4 and batch 256). EPIC / Pearson / Spearman of each seed's final reward.",
        ml_irl_paper,
        [Video("Hopper expert (zoo)", "zoo/Hopper-v5/expert.pt", "hopper_expert.mp4"),
         Video("ML-IRL r(s), seed 0, 1M env steps", "results/carry/hopper_state_only/seed0/last.ckpt", "ml_irl_hopper_state_only_seed0.mp4"),
         Video("ML-IRL r(s, a), seed 0, 1M env steps", "results/carry/hopper_state_action/seed0/last.ckpt", "ml_irl_hopper_state_action_seed0.mp4"),
         Video("ML-IRL r(s) with the steadier step, seed 0, 1M env steps",
               "results/carry/hopper_state_only+fast_reward_decay+standard_sac/seed0/last.ckpt", "ml_irl_hopper_state_only_standard_sac_seed0.mp4"),
         Video("ML-IRL r(s, a) with the steadier step, seed 0, 1M env steps",
               "results/carry/hopper_state_action+fast_reward_decay+standard_sac/seed0/last.ckpt",
               "ml_irl_hopper_state_action_standard_sac_seed0.mp4")],
        ["ml_irl_hopper_profiles.png"],
    ),
    ResultTable(
        "ML-IRL on Walker2d-v5 (thesis Table 2.1, Walker row)", "ml_irl_walker2d",
        "python tools/bench_ml_irl.py --envs walker2d --variants state_only+fast_reward_decay+standard_sac --seeds 0",
        "python tools/bench_ml_irl.py --envs walker2d --variants state_only+fast_reward_decay+standard_sac --seeds 0 --report-only",
        "ML-IRL from one expert trajectory of the zoo's Walker2d expert (5191 ± 63), with the step that removed Hopper's "
        "standing phase (`+fast_reward_decay+standard_sac`), at the thesis's 2M env steps.",
        ml_irl_paper,
        run_prefix="walker2d_",
    ),
    ResultTable(
        "ML-IRL on HalfCheetah-v5 (thesis Table 2.1, HalfCheetah row)", "ml_irl_halfcheetah",
        "python tools/bench_ml_irl.py --envs halfcheetah --variants state_only+thesis_sac+reward_steps_10+bounded_reward_wide --seeds 0",
        "python tools/bench_ml_irl.py --envs halfcheetah --variants state_only+thesis_sac+reward_steps_10 state_only+thesis_sac+reward_steps_10+bounded_reward_wide "
        "--seeds 0 --report-only",
        "ML-IRL from one expert trajectory of the zoo's HalfCheetah expert (8123 ± 99), at the thesis's 2M env steps, with the "
        "cheap step (`+thesis_sac+reward_steps_10`: (64, 64) SAC nets at Adam 3e-3 as the thesis text, 10 reward steps of "
        "Adam 1e-4 per iteration), alone (its reward's scale runs away) and with the reward bounded at -2.5 / 5.5 per step "
        "(`+bounded_reward_wide`; Hopper's tighter `bounded_reward` left HalfCheetah near maximum entropy). HalfCheetah never "
        "terminates, so there is no standing phase to remove.",
        ml_irl_paper,
        run_prefix="halfcheetah_",
    ),
    ResultTable(
        "Transfer across dynamics: CustomAnt-v0 -> DisabledAnt-v0 (thesis Table 2.2)", "transfer_ant",
        "python tools/bench_transfer.py --seeds 0",
        "python tools/bench_transfer.py --seeds 0 --report-only",
        "Data transfer (the IRL method in DisabledAnt on CustomAnt demonstrations), reward transfer (SAC in DisabledAnt on the "
        "r(s) it learned in CustomAnt) for ML-IRL(S), AIRL (its g(s)) and f-IRL, ground-truth SAC, and the source runs in CustomAnt.",
        transfer_paper,
        [Video("ML-IRL r(s) in CustomAnt-v0 (source of the reward transfer), seed 0", "results/carry/transfer_custom_ant_irl/seed0/last.ckpt",
               "transfer_custom_ant_irl_seed0.mp4"),
         Video("data transfer: ML-IRL r(s) in DisabledAnt-v0, seed 0, latest", "results/carry/transfer_data_transfer/seed0/last.ckpt",
               "transfer_data_transfer_seed0.mp4"),
         Video("reward transfer: SAC in DisabledAnt-v0 on the CustomAnt r(s), seed 0, 1M env steps", "results/carry/transfer_reward_transfer/seed0/last.ckpt",
               "transfer_reward_transfer_seed0.mp4")],
    ),
    ResultTable(
        "The standing phase of ML-IRL on Hopper-v5: candidate fixes (issue 21, step 1)", "standing_hopper",
        "python tools/bench_standing.py --seeds 0 1",
        "python tools/bench_standing.py --seeds 0 1 --report-only",
        "Overlays on the official configuration, 300k env steps each: what a fall is worth in the SAC step, the reward's "
        "initialization and step size, a standardized reward for the SAC step, fixed_horizon, the thesis's SAC nets. Curves of the eval return and of the learned reward on "
        "expert, agent and fallen states.",
        standing_paper,
        [Video("official configuration r(s), seed 0, 1M (hops after standing)", "results/carry/hopper_state_only/seed0/last.ckpt",
               "ml_irl_hopper_state_only_seed0.mp4"),
         Video("fixed_horizon, seed 0, at 65k (falls)", "results/carry/hopper_state_only+fixed_horizon/seed0/last.ckpt",
               "standing_fixed_horizon_seed0.mp4"),
         Video("zero_init_reward, seed 0, at 55k (stands)", "results/carry/hopper_state_only+zero_init_reward/seed0/last.ckpt",
               "standing_zero_init_reward_seed0.mp4"),
         Video("neutral_start_fast_reward, seed 0, latest", "results/carry/hopper_state_only+neutral_start_fast_reward/seed0/last.ckpt",
               "standing_neutral_start_fast_reward_seed0.mp4"),
         Video("standardized_reward, seed 0, at 35k (falls)", "results/carry/hopper_state_only+standardized_reward/seed0/last.ckpt",
               "standing_standardized_reward_seed0.mp4"),
         Video("fast_reward, seed 0, latest (hops)", "results/carry/hopper_state_only+fast_reward/seed0/last.ckpt",
               "standing_fast_reward_seed0.mp4")],
        [],
    ),
    ResultTable(
        "BC and PPO on Hopper-v5", "learners_hopper",
        "python tools/bench_learners.py --stages bc ppo --seeds 0 1 2",
        "python tools/bench_learners.py --report-only --seeds 0 1 2",
        "BC (tanh-Gaussian maximum likelihood) from 1, 5 and 25 expert trajectories (x-axis: gradient steps), and PPO on "
        "the true reward for 1M env steps.",
        learners_paper,
        [Video("BC, 1 expert trajectory, seed 0", "results/carry/bc_hopper_1traj/seed0/last.ckpt", "bc_hopper_1traj_seed0.mp4"),
         Video("PPO, true reward, seed 0, 1M env steps", "results/carry/ppo_hopper/seed0/last.ckpt", "ppo_hopper_seed0.mp4")],
    ),
    ResultTable(
        "AIHF vs the RLHF pipeline on Hopper-v5 (AIHF paper, Fig. 5)", "aihf_hopper",
        "python tools/bench_aihf.py --labels return --methods aihf+reward_steps_10 rlhf ml_irl+reward_steps_10 preference_only+reward_steps_10 --seeds 0 1 2",
        "python tools/bench_aihf.py --labels tier return --methods aihf rlhf aihf_fast_reward aihf+reward_steps_10 ml_irl+reward_steps_10 "
        "preference_only+reward_steps_10 w1_0.1+reward_steps_10 w1_10+reward_steps_10 --seeds 0 1 2 --report-only",
        "One reward from 10 demonstrations and 5000 segment pairs (AIHF), against BC -> BT reward model -> SAC (RLHF), "
        "ML-IRL on the demonstrations alone and preferences alone, and an ablation of the demonstration weight w1 (ours); "
        "SAC env steps on the x-axis (RLHF: after BC).",
        aihf_paper, run_prefix="aihf_",
    ),
    ResultTable(
        "Offline ML-IRL on Hopper-v5 (thesis Table 3.1)", "offline_hopper",
        "python tools/bench_offline.py --stages world_model offline_ml_irl bc value_dice clare reward_transfer --seeds 0 1 2",
        "python tools/bench_offline.py --report-only --seeds 0 1 2 --variants '' fast_reward fast_reward+long_reward_horizon fast_reward+long_reward_horizon+straight_through_clamp fast_reward+long_reward_horizon+scale_penalty fast_reward+long_reward_horizon+anchored_scale_penalty",
        "Offline ML-IRL (CPU profile) on medium, medium-replay and medium-expert data from 5 expert trajectories, the "
        "1-trajectory row, BC, ValueDICE and CLARE, and offline reward transfer; world-model holdout metrics and EPIC.",
        offline_paper, run_prefix="offline_",
    ),
    ResultTable(
        "The baselines on Hopper-v5 (thesis Table 2.1 layout)", "baselines_hopper",
        "python tools/bench_baselines.py --methods gail airl f_irl iq_learn sqil --seeds 0",
        "python tools/bench_baselines.py --report-only --seeds 0 1 2",
        "BC, GAIL, AIRL, f-IRL, IQ-Learn, SQIL, ML-IRL r(s) and r(s, a) and the expert, from one expert trajectory on the same "
        "SAC ((256, 256)), data and evaluation; BC and ML-IRL rows are the runs of bench_learners.py and bench_ml_irl.py.",
        baselines_paper, run_prefix="baselines_",
    ),
    ResultTable(
        "Sequence-level alignment on a synthetic language (thesis Ch. 4-5, paper 001)", "sequence",
        "python tools/bench_sequence.py --suites headline preferences horizon oracle --seeds 0 1 2",
        "python tools/bench_sequence.py --report-only --seeds 0 1 2 --pair-seeds 0 1 2 3 4",
        "IRL from demonstrations vs SFT (and SPIN) across demonstration counts, AIHF vs RLHF vs DPO with scarce "
        "preferences, a horizon sweep, and oracles (the expert, PPO on the gold reward, tabular ML-IRL), on a tiny "
        "transformer where the gold reward and the expert's log-probabilities are exact.",
        sequence_paper, run_prefix="sequence_",
    ),
]


def remake_tables() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    for table in (t for t in TABLES if t.has_runs()):
        print(f"$ {table.report}", flush=True)
        # shlex: the commands are shell lines users copy ('' is the offline table's base variant).
        subprocess.run([sys.executable, *shlex.split(table.report)[1:]], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def render_videos(results: Path, force: bool) -> None:
    (results / "videos").mkdir(parents=True, exist_ok=True)
    for video in (v for table in TABLES for v in table.videos):
        out = results / "videos" / video.out
        if (out.exists() and not force) or not (ROOT / video.policy).exists():
            continue
        print(f"video: {video.label} -> {out}", flush=True)
        subprocess.run([sys.executable, "-m", "lit_irl.data.cli", "video", "--policy", str(ROOT / video.policy), "--episodes", "1",
                        "--width", "240", "--height", "240", "--out", str(out)], cwd=ROOT, check=True)


def page(results: Path) -> str:
    lines = [
        "# Results", "",
        "Generated by `python tools/report.py` (add `--videos` to render missing videos). Every number below was run "
        "here; each table names its command, seeds and budgets. Runs longer than one machine session are carried in "
        "`results/carry/` (compact checkpoint + TensorBoard events) and continued by the same command. "
        "How the tables are made: each seed's score is the mean of its last 5 deterministic evaluations; across seeds "
        "the interquartile mean (IQM) with a stratified-bootstrap 95% CI (`lit_irl/stats.py`, the estimators of "
        "Agarwal et al. 2021); learned rewards are compared with the true one by EPIC (`lit_irl/rewards/epic.py`). "
        "The lab notebook of how these results came about: [history.md](history.md).", "",
    ]
    lines += table_2_1(results)
    for table in TABLES:
        json_path = results / f"{table.stem}.json"
        lines += [f"## {table.title}", "", table.about, ""]
        if not json_path.exists():
            lines += ["Not run yet.", ""]
            continue
        data = json.loads(json_path.read_text())
        seeds = sorted({row["seeds"] for row in _rows(data)})
        budgets = sorted({row["env_steps"] for row in _rows(data) if row["env_steps"]})
        lines += [
            f"- Table: [{table.stem}.md]({table.stem}.md) (data: [{table.stem}.json]({table.stem}.json))",
            f"- Train (continues carried runs): `{table.train}`",
            f"- Re-make the table: `{table.report}`",
            f"- Seeds per row: {', '.join(map(str, seeds))}; budgets: "
            + (f"{', '.join(f'{b:,}' for b in budgets)} steps of each learner's unit" if budgets else "no run finished yet"),
            f"- Against the paper: {table.paper(data)}",
        ]
        videos = [v for v in table.videos if (results / "videos" / v.out).exists()]
        if videos:
            lines.append("- Videos of final policies (one deterministic episode): " + ", ".join(f"[{v.label}](videos/{v.out})" for v in videos))
        lines += ["", f"![{table.stem}]({table.stem}.png)", ""]
        lines += [f"![{image}]({image})" for image in table.extra_images if (results / image).exists()]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--page-only", action="store_true", help="only write results/README.md from the tables' JSON")
    parser.add_argument("--videos", action="store_true", help="render the videos that are missing")
    parser.add_argument("--force-videos", action="store_true", help="render every video again")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the folder of the tables' JSON, the videos and the page")
    args = parser.parse_args(argv)
    if not args.page_only:
        remake_tables()
    if args.videos or args.force_videos:
        render_videos(args.results, args.force_videos)
    write_text_atomic(args.results / "README.md", page(args.results))
    print(f"wrote {args.results / 'README.md'}")


if __name__ == "__main__":
    main()
