"""Build one env's entry of the expert zoo from a finished (or interrupted) SAC training run.

    lit-irl fit --config configs/sac/hopper.yaml                      # trains, keeps every checkpoint
    python tools/build_zoo.py --run-dir runs/sac-Hopper-v5/version_0  # -> zoo/Hopper-v5/

Rules, fixed up front:
- expert = the kept checkpoint with the highest mean deterministic return over ``--select-episodes``
  episodes (the zoo is a data source: selecting it by true return is labelled as such);
  its reported return is then measured on ``--eval-episodes`` fresh episodes (other seeds).
- medium = the kept checkpoint whose return is closest to 1/3 of the way from the random policy's
  return to the expert's (the D4RL protocol; measured from random so that it holds for negative returns).
Writes ``zoo/<env>/expert.pt``, ``medium.pt`` (actor weights only), with ``--export-checkpoints``
the actor of every kept checkpoint (``checkpoints/env_steps=<n>.pt``, for preference data; ``--export-every``
thins them), ``expert_demos.hdf5``
(``--demos`` deterministic expert episodes, D4RL format), updates ``zoo/zoo.json``,
``zoo/README.md`` and the expert reference of ``lit_irl/data/reference_returns.json``.

An expert that takes more than one session (Walker2d, Ant, Humanoid) is carried, not built:

    python tools/build_zoo.py --run-dir runs/sac-Walker2d-v5/version_0 --carry results/carry/zoo_walker2d
    lit-irl fit --config configs/sac/walker2d.yaml --ckpt_path results/carry/zoo_walker2d/last.ckpt   # next session
    python tools/build_zoo.py --run-dir runs/sac-Walker2d-v5/version_0 --extra-checkpoints results/carry/zoo_walker2d/actors/*.pt
    python tools/build_zoo.py --run-dir results/carry/zoo_walker2d   # or build from the carried folder itself

``--carry`` writes the run's compact ``last.ckpt`` (its replay buffer's newest
``lit_irl.benchmark.CARRY_REPLAY_ROWS`` transitions: a resume without them falls, see results/history.md),
the actor of each kept checkpoint (``actors/env_steps=<n>.pt``, the candidates of the final build) and the
TensorBoard events; each further session's ``--carry`` adds to the same folder.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import sys
from pathlib import Path

import numpy as np

from lit_irl.benchmark import CARRY_REPLAY_ROWS
from lit_irl.checkpoint_io import compact_checkpoint
from lit_irl.data.cli import evaluate_checkpoints, pick_by_fraction, training_checkpoints
from lit_irl.data.d4rl import save_dataset
from lit_irl.data.rollout import export_policy, load_policy, random_policy_returns, rollout
from lit_irl.data.scores import REFERENCE_FILE
from lit_irl.files import write_text_atomic
from lit_irl.reporting import training_seconds

ROOT = Path(__file__).resolve().parents[1]
ZOO = ROOT / "zoo"


def write_readme(entries: dict) -> None:
    lines = [
        "# Expert zoo",
        "",
        "SAC experts trained with the project's own configs (`configs/sac/<env>.yaml`, true reward, plain termination),",
        "their medium-level policies (about 1/3 of the expert return, the D4RL protocol) and 10 deterministic expert",
        "trajectories per env. Large datasets are not committed: regenerate them with `lit-irl-data` (commands below).",
        "The expert is the kept checkpoint with the best true return (it is a data source, selected as such); its",
        "return below is measured on 10 further deterministic episodes. v5 envs, mujoco 3+ (numbers are not comparable",
        "to the papers' v2/v3 ones except as ratios).",
        "",
        "| env | expert return (10 ep.) | expert env steps | run env steps | training wall time | medium return | medium env steps | files |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for env_id, e in sorted(entries.items()):
        lines.append(
            f"| {env_id} | {e['expert_return_mean']:.1f} ± {e['expert_return_std']:.1f} | {e['expert_env_steps']:,} | {e['run_env_steps']:,} "
            f"| {e['wall_time_s'] / 3600:.2f} h | {e['medium_return_mean']:.1f} ± {e['medium_return_std']:.1f} | {e['medium_env_steps']:,} "
            f"| `{env_id}/expert.pt`, `medium.pt`, `expert_demos.hdf5` |"
        )
    notes = [f"- **{env_id}**: {e['note']}" for env_id, e in sorted(entries.items()) if e.get("note")]
    if notes:
        lines += ["", "## Notes", "", *notes]
    lines += ["", "## Regenerate", ""]
    for env_id, e in sorted(entries.items()):
        lines += [f"**{env_id}**", "", "```bash", *e["commands"], "```", ""]
    lines += [
        "Datasets from these policies (not committed; minutes each):",
        "",
        "```bash",
        "lit-irl-data offline --kind expert --policy zoo/Hopper-v5/expert.pt --out data/hopper-expert.hdf5",
        "lit-irl-data offline --kind medium --policy zoo/Hopper-v5/medium.pt --out data/hopper-medium.hdf5",
        "lit-irl-data offline --kind medium-replay --checkpoint <run>/checkpoints/last.ckpt --up-to-env-steps <medium step> --out data/hopper-medium-replay.hdf5",
        "lit-irl-data offline --kind medium-expert --medium-policy zoo/Hopper-v5/medium.pt --expert-policy zoo/Hopper-v5/expert.pt --out data/hopper-medium-expert.hdf5",
        "lit-irl-data preferences --checkpoints zoo/Hopper-v5/checkpoints/*.pt --out data/hopper-preferences.hdf5",
        "```",
    ]
    write_text_atomic(ZOO / "README.md", "\n".join(lines) + "\n")


def last_checkpoint(run_dir: Path) -> Path:
    """A run folder's ``checkpoints/last.ckpt``, or a ``--carry`` folder's ``last.ckpt``."""
    return next((p for p in (run_dir / "checkpoints" / "last.ckpt", run_dir / "last.ckpt") if p.exists()), run_dir / "checkpoints" / "last.ckpt")


def carry(run_dir: Path, target: Path) -> None:
    """Pack an unfinished expert run for the next session (see the module docstring)."""
    last = last_checkpoint(run_dir)
    if not last.exists():
        raise SystemExit(f"build_zoo: {last} is missing: nothing to carry (train with lit-irl fit first)")
    (target / "actors").mkdir(parents=True, exist_ok=True)
    steps = compact_checkpoint(last, target / "last.ckpt", CARRY_REPLAY_ROWS)
    kept = training_checkpoints(run_dir)
    for path in kept:
        policy = load_policy(path)
        export_policy(policy, target / "actors" / f"env_steps={policy.env_steps}.pt")
    for events in run_dir.glob("events.out.tfevents.*"):
        shutil.copy2(events, target / events.name)
    print(f"{target}: last.ckpt at {steps:,} env steps, {len(kept)} kept actors; continue with --ckpt_path {target / 'last.ckpt'}")


def candidate_checkpoints(run_dir: Path) -> list[Path]:
    """The expert's candidates: a run folder's kept checkpoints, or a ``--carry`` folder's actors
    (every kept checkpoint of every session it was carried through; the run folders may be gone)."""
    actors = [(int(m.group(1)), p) for p in (run_dir / "actors").glob("env_steps=*.pt") if (m := re.match(r"env_steps=(\d+)", p.name))]
    if actors and not (run_dir / "checkpoints").is_dir():
        return [p for _, p in sorted(actors)]
    return training_checkpoints(run_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", required=True, help="runs/sac-<env>/version_<n> (with checkpoints/env_steps=*.ckpt)")
    parser.add_argument("--select-episodes", type=int, default=5)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--demos", type=int, default=10)
    parser.add_argument("--export-checkpoints", action="store_true", help="also export the actor of every kept checkpoint to zoo/<env>/checkpoints/ (preference data)")
    parser.add_argument(
        "--export-every", type=int, default=0,
        help="with --export-checkpoints: only checkpoints at multiples of this many env steps, plus the first, the medium and the expert (keeps the zoo small)",
    )
    parser.add_argument("--extra-checkpoints", nargs="*", default=[], help="more candidates: exported actors of earlier sessions of the same run (zoo/<env>/checkpoints/*.pt)")
    parser.add_argument(
        "--earlier-wall-time-h", type=float, default=0.0,
        help="training hours of earlier sessions whose logs are gone (runs carried by a compact checkpoint)",
    )
    parser.add_argument("--note", default="", help="a remark recorded with the entry (zoo/README.md)")
    parser.add_argument("--train-command", help="the command that trained the run (recorded in zoo/README.md); default: lit-irl fit --config configs/sac/<env>.yaml")
    parser.add_argument("--carry", type=Path, metavar="DIR", help="do not build: pack the unfinished run into DIR for the next session")
    args = parser.parse_args()
    run_dir = Path(args.run_dir)
    if args.carry:
        carry(run_dir, args.carry)
        return

    candidates = candidate_checkpoints(run_dir) + [Path(p) for p in args.extra_checkpoints]
    rows = sorted(evaluate_checkpoints(candidates, args.select_episodes, seed=100), key=lambda r: r[1])
    for path, steps, mean, std in rows:
        print(f"{steps:>9,d}  {mean:9.1f} ± {std:7.1f}  {path.name}")
    expert_path = max(rows, key=lambda r: r[2])[0]
    expert = load_policy(expert_path)
    env_id = expert.env.env_id
    expert_returns = rollout(expert.env, expert.actor, episodes=args.eval_episodes, deterministic=True, seed=200, record_physics=False).episode_returns()
    references = json.loads(REFERENCE_FILE.read_text())
    if "random" not in references.get(env_id, {}):
        random_returns = random_policy_returns(expert.env)
        references[env_id] = {"random": round(float(random_returns.mean()), 3), "random_std": round(float(random_returns.std()), 3), "random_episodes": 10}
    medium_row = pick_by_fraction(rows, 1 / 3, reference=float(expert_returns.mean()), floor=references[env_id]["random"])
    medium = load_policy(medium_row[0])
    medium_returns = rollout(medium.env, medium.actor, episodes=args.eval_episodes, deterministic=True, seed=200, record_physics=False).episode_returns()

    out = ZOO / env_id
    export_policy(expert, out / "expert.pt", {"return_mean": float(expert_returns.mean()), "return_std": float(expert_returns.std())})
    export_policy(medium, out / "medium.pt", {"return_mean": float(medium_returns.mean()), "return_std": float(medium_returns.std())})
    if args.export_checkpoints:
        for path, steps, mean, std in rows:
            if args.export_every and steps % args.export_every and steps not in (rows[0][1], expert.env_steps, medium.env_steps):
                continue
            target = out / "checkpoints" / f"env_steps={steps}.pt"
            if path.resolve() != target.resolve():
                export_policy(load_policy(path), target, {"return_mean": mean, "return_std": std})
    demos = rollout(expert.env, expert.actor, episodes=args.demos, deterministic=True, seed=0)
    save_dataset(out / "expert_demos.hdf5", demos, {"source_policy": f"zoo/{env_id}/expert.pt", "policy_env_steps": expert.env_steps, "kind": "demonstrations"})

    references[env_id]["expert"] = round(float(expert_returns.mean()), 3)
    references[env_id]["expert_std"] = round(float(expert_returns.std()), 3)
    references[env_id]["expert_policy"] = f"zoo/{env_id}/expert.pt"
    write_text_atomic(REFERENCE_FILE, json.dumps(references, indent=1) + "\n")

    zoo_file = ZOO / "zoo.json"
    entries = json.loads(zoo_file.read_text()) if zoo_file.exists() else {}
    last = last_checkpoint(run_dir)
    run_steps = load_policy(last).env_steps if last.exists() else max(r[1] for r in rows)
    train_command = args.train_command or f"lit-irl fit --config configs/sac/{env_id.split('-')[0].lower()}.yaml"
    # As a user runs it: the run folder under runs/ (wherever this machine kept it).
    build_args = list(sys.argv[1:])
    # Session artefacts (notes, candidates and hours of earlier sessions) are not part of the recipe:
    # a run trained in one go has every checkpoint in its own folder.
    for option in ("--train-command", "--note", "--earlier-wall-time-h", "--extra-checkpoints"):
        if option in build_args:
            i = build_args.index(option)
            end = i + 1
            while end < len(build_args) and not build_args[end].startswith("--"):
                end += 1
            del build_args[i:end]
    if (run_dir / "checkpoints").is_dir():  # a carried folder is named as given (it lives in the repository)
        build_args = [f"runs/{run_dir.parent.name}/{run_dir.name}" if a == args.run_dir else a for a in build_args]
    entries[env_id] = {
        "expert_return_mean": float(expert_returns.mean()),
        "expert_return_std": float(expert_returns.std()),
        "expert_env_steps": expert.env_steps,
        "run_env_steps": run_steps,
        "wall_time_s": training_seconds(run_dir) + 3600 * args.earlier_wall_time_h,
        "medium_return_mean": float(medium_returns.mean()),
        "medium_return_std": float(medium_returns.std()),
        "medium_env_steps": medium.env_steps,
        "demo_returns": [round(float(r), 1) for r in demos.episode_returns()],
        "note": args.note,
        "commands": [
            f"{train_command}   # after an interruption: the same command with --ckpt_path last",
            "python " + " ".join(shlex.quote(a) for a in ["tools/build_zoo.py", *build_args]),
        ],
    }
    write_text_atomic(zoo_file, json.dumps(entries, indent=1) + "\n")
    write_readme(entries)
    print(f"{env_id}: expert {expert_returns.mean():.1f} ± {expert_returns.std():.1f} ({expert.env_steps:,} steps), "
          f"medium {medium_returns.mean():.1f} ({medium.env_steps:,} steps), demos {np.round(demos.episode_returns(), 1)}")


if __name__ == "__main__":
    main()
