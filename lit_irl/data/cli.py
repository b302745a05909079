"""``lit-irl-data``: demonstrations, D4RL-style offline datasets, preference pairs, inspection.

    lit-irl-data demos --policy zoo/hopper/expert.pt --episodes 10 --out data/hopper-expert-10.hdf5
    lit-irl-data offline --kind medium --policy zoo/hopper/medium.pt --out data/hopper-medium.hdf5
    lit-irl-data offline --kind medium-replay --checkpoint runs/.../last.ckpt --up-to-env-steps 150000 --out ...
    lit-irl-data preferences --run-dir runs/sac-Hopper-v5/version_0 --out data/hopper-prefs.hdf5
    lit-irl-data checkpoints --run-dir runs/sac-Hopper-v5/version_0       # returns along training
    lit-irl-data export --policy runs/.../last.ckpt --out zoo/hopper/expert.pt
    lit-irl-data video --policy zoo/Hopper-v5/expert.pt --episodes 2 --out videos/hopper-expert.mp4
    lit-irl-data relabel --dataset data/hopper-medium-replay.hdf5 --reward-from runs/offlinemlirl-.../last.ckpt --out ...
    lit-irl-data inspect data/hopper-medium.hdf5
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

from lit_irl.errors import LitIRLError

# ------------------------------------------------------------------ helpers
POLICY_FIX = "pass a training checkpoint runs/<run>/checkpoints/*.ckpt or an exported policy zoo/<env>/*.pt"
REPLAY_FIX = "pass the run's runs/<run>/checkpoints/last.ckpt with --up-to-env-steps <medium step>"
# int options that must be >= 1 (argparse dest names); checked before anything is loaded or written
POSITIVE_OPTIONS = (
    "num_envs", "episodes", "transitions", "episodes_per_checkpoint", "pairs", "segment_length", "up_to_env_steps", "width", "height", "fps",
)
# the file --out names, by subcommand, in messages about a bad --out
OUT_EXAMPLES = {"export": "zoo/<env>/expert.pt", "video": "videos/<name>.mp4"}


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _state_file(path: Path, label: str, fix: str) -> None:
    """Fail with one line unless ``path`` is an existing regular file (checked before loading)."""
    if not path.exists():
        raise LitIRLError(f"{label} {path} does not exist; {fix}")
    if not path.is_file():
        raise LitIRLError(f"{label} {path} is {'a directory, not a file' if path.is_dir() else 'not a regular file'}; {fix}")


def load_policy_arg(path: str | Path, label: str = "--policy"):
    """:func:`~lit_irl.data.rollout.load_policy` with every problem of the file as one line that
    names ``label`` (the option the path came from) and says what to pass instead.

    (The checkpoint loader's own messages are written for ``lit-irl --ckpt_path``.)"""
    from lit_irl.data.rollout import load_policy

    path = Path(path)
    _state_file(path, label, POLICY_FIX)
    try:
        return load_policy(path)
    except LitIRLError as error:
        text = _one_line(error)
        if "truncated or corrupt" in text:
            problem = "is truncated or corrupt (not a readable PyTorch file)"
        elif "neither a lit_irl checkpoint nor an exported policy" in text:
            problem = "is not a lit_irl policy (neither a training checkpoint nor an exported policy)"
        else:  # weights that do not fit, a learner without an actor, ...
            detail = text[len(str(path)) :].lstrip(": ") if text.startswith(str(path)) else text
            problem = f"is not usable ({detail})"
        raise LitIRLError(f"{label} {path} {problem}; {POLICY_FIX}") from None
    except (AttributeError, KeyError, IndexError, TypeError, ValueError) as error:  # a pickle of something else
        detail = _one_line(f"{type(error).__name__}: {error}")[:120]
        raise LitIRLError(f"{label} {path} is not a lit_irl policy (unexpected content, {detail}); {POLICY_FIX}") from None


def output_path(out: str, example: str, label: str = "--out") -> Path:
    """The file ``out`` names, checked before any work so that a bad path fails at once and leaves nothing.

    A symlink is followed (also one whose target does not exist yet): the atomic write (temp file +
    rename in the same folder) then lands on its target and the link stays a link."""
    given = Path(out)
    if not out or out.endswith(("/", os.sep)) or given.name in ("", ".", ".."):
        raise LitIRLError(f"{label} {out!r} is not a file path; give a file path (e.g. {example})")
    try:
        target = given.resolve()
    except (OSError, RuntimeError) as error:  # a symlink loop
        raise LitIRLError(f"{label} {given} cannot be resolved ({_one_line(error)}); give a file path (e.g. {example})") from None
    if target.is_dir():
        raise LitIRLError(f"{label} {given} is a directory; give a file path (e.g. {given / Path(example).name})")
    if target.exists() and not target.is_file():
        raise LitIRLError(f"{label} {given} exists and is not a regular file; give a file path (e.g. {example})")
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise LitIRLError(f"{label} {given}: {folder} is not a directory (it is a file); give a path in a folder (e.g. {example})")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise LitIRLError(f"{label} {given}: no permission to write in {folder}")
    return target


def check_arguments(args: argparse.Namespace) -> None:
    """Everything that can be checked without loading a policy or env: counts, --out, input files."""
    for name in POSITIVE_OPTIONS:
        value = getattr(args, name, None)
        if value is not None and value < 1:
            raise LitIRLError(f"--{name.replace('_', '-')} must be >= 1 (got {value})")
    if getattr(args, "out", None) is not None:
        args.out_path = output_path(args.out, OUT_EXAMPLES.get(args.command, "data/<name>.hdf5"))
    if args.command == "video":
        from lit_irl.video import check_frame_size, check_video_path

        check_video_path(args.out)
        check_frame_size(args.width, args.height, args.out_path.suffix.lower())
    if getattr(args, "tier_fractions", None) and not args.demonstrations:
        raise LitIRLError("--tier-fractions are fractions of the demonstrations' return: give --demonstrations too")
    for option in ("policy", "medium_policy", "expert_policy"):
        if getattr(args, option, None):
            _state_file(Path(getattr(args, option)), f"--{option.replace('_', '-')}", POLICY_FIX)
    if getattr(args, "checkpoint", None):
        _state_file(Path(args.checkpoint), "--checkpoint", REPLAY_FIX)
    if getattr(args, "reward_from", None):
        _state_file(Path(args.reward_from), "--reward-from", "pass an IRL checkpoint (ML-IRL, Offline ML-IRL): runs/<run>/checkpoints/last.ckpt")
    for path in getattr(args, "checkpoints", None) or []:
        _state_file(Path(path), "--checkpoints", POLICY_FIX)
    if getattr(args, "run_dir", None) and not Path(args.run_dir).is_dir():
        raise LitIRLError(f"--run-dir {args.run_dir} is not a directory; pass a run folder such as runs/<run>/version_0")


def training_checkpoints(run_dir: str | Path) -> list[Path]:
    """The periodic checkpoints of a run (``keep_all``), in order of env steps."""
    folder = Path(run_dir) / "checkpoints" if (Path(run_dir) / "checkpoints").is_dir() else Path(run_dir)
    found = [(int(m.group(1)), p) for p in folder.glob("env_steps=*.ckpt") if (m := re.match(r"env_steps=(\d+)", p.name))]
    if not found:
        raise LitIRLError(f"no env_steps=<n>.ckpt under {folder}; train with checkpoint.keep_all: true")
    return [p for _, p in sorted(found)]


def evaluate_checkpoints(paths: list[Path], episodes: int, seed: int) -> list[tuple[Path, int, float, float]]:
    """(path, env steps, mean, std) of the deterministic return of each checkpoint."""
    from lit_irl.data.rollout import rollout

    rows = []
    for path in paths:
        policy = load_policy_arg(path, "checkpoint")
        returns = rollout(policy.env, policy.actor, episodes=episodes, deterministic=True, seed=seed, record_physics=False).episode_returns()
        rows.append((path, policy.env_steps, float(returns.mean()), float(returns.std())))
    return rows


def pick_by_fraction(
    rows: list[tuple[Path, int, float, float]], fraction: float, reference: float | None = None, floor: float = 0.0
) -> tuple[Path, int, float, float]:
    """The checkpoint whose return is closest to ``fraction`` of the way from ``floor`` (the random
    policy's return, where known) to ``reference`` (default: the best checkpoint's return).

    Measured from the random return so that "1/3 of the expert" also means something for envs
    whose returns are negative (Pendulum: random about -1200, expert about -150)."""
    best = max(r[2] for r in rows) if reference is None else reference
    target = floor + fraction * (best - floor)
    return min(rows, key=lambda r: abs(r[2] - target))


def replay_dataset(checkpoint: str | Path, up_to_env_steps: int | None = None):
    """The replay buffer of a training checkpoint as D4RL data (medium-replay): all of it, or the
    transitions of training's first ``up_to_env_steps`` env steps (rows ``[0, n)`` of a buffer that
    was filled from the start of training and never wrapped)."""
    from lit_irl.checkpoint_io import load_checkpoint_file
    from lit_irl.data.d4rl import TransitionData

    path = Path(checkpoint)
    _state_file(path, "--checkpoint", REPLAY_FIX)
    try:
        state = load_checkpoint_file(path)
    except LitIRLError:  # its message is written for `lit-irl --ckpt_path`
        raise LitIRLError(f"--checkpoint {path} is truncated or corrupt (not a readable PyTorch file); {REPLAY_FIX}") from None
    if not isinstance(state, dict) or "state_dict" not in state or "hyper_parameters" not in state:
        raise LitIRLError(f"--checkpoint {path} is not a lit_irl training checkpoint; {REPLAY_FIX}")
    collection = state.get("collection")
    if not collection:
        raise LitIRLError(
            f"{checkpoint} holds no replay buffer (a kept periodic checkpoint, or saved outside fit); "
            "pass the run's last.ckpt with --up-to-env-steps <medium step>"
        )
    replay = collection[0]["replay"]
    if replay["write_count"] > replay["capacity"]:
        raise LitIRLError(f"{checkpoint}: the replay buffer wrapped around (capacity {replay['capacity']}); medium-replay needs all of training")
    env_steps = int(state["state_dict"]["env_steps"])
    rows = replay["write_count"]
    if up_to_env_steps is not None:
        ranks = len(collection)  # env steps count every rank; rank 0's buffer holds its share
        if rows * ranks != env_steps:
            raise LitIRLError(
                f"{checkpoint}: its replay buffer holds {rows * ranks} of the run's {env_steps} env steps (the run was "
                "resumed from a compact checkpoint, so the buffer does not start at step 0); use a kept checkpoint "
                "with its replay buffer or one from an uninterrupted run"
            )
        if not 0 < up_to_env_steps <= env_steps:
            raise LitIRLError(f"--up-to-env-steps {up_to_env_steps} is outside this checkpoint's 1..{env_steps} env steps")
        rows, env_steps = up_to_env_steps // ranks, up_to_env_steps
    data = replay["data"][:rows]
    terminated = data["terminated"].numpy()
    from lit_irl.data.rollout import config_from_hparams
    from lit_irl.envs import EnvConfig

    env = config_from_hparams(EnvConfig, state["hyper_parameters"]["env"])
    return TransitionData(
        data["obs"].numpy(), data["action"].numpy(), data["true_reward"].numpy(), terminated,
        data["done"].numpy() & ~terminated, data["next_obs"].numpy(),
        attrs={"env_id": env.env_id, "source_policy": f"replay buffer of {checkpoint}", "env_steps": env_steps},
    )


def _print_returns(label: str, returns: np.ndarray) -> None:
    if len(returns):
        print(f"{label}: {len(returns)} episodes, return {returns.mean():.1f} ± {returns.std():.1f} (min {returns.min():.1f}, max {returns.max():.1f})")


# -------------------------------------------------------------- subcommands
def cmd_demos(args: argparse.Namespace) -> None:
    from lit_irl.data.d4rl import save_dataset
    from lit_irl.data.rollout import rollout

    policy = load_policy_arg(args.policy)
    data = rollout(policy.env, policy.actor, episodes=args.episodes, deterministic=not args.stochastic, seed=args.seed, num_envs=args.num_envs)
    save_dataset(args.out_path, data, {"source_policy": str(args.policy), "policy_env_steps": policy.env_steps, "kind": "demonstrations"})
    _print_returns(f"{args.out}", data.episode_returns())


def cmd_offline(args: argparse.Namespace) -> None:
    from lit_irl.data.d4rl import concatenate, save_dataset
    from lit_irl.data.rollout import rollout
    from lit_irl.envs import EnvConfig

    start = time.time()
    kind = args.kind

    def from_policy(policy, path: str, seed: int):
        data = rollout(policy.env, policy.actor, transitions=args.transitions, deterministic=False, seed=seed, num_envs=args.num_envs)
        data.attrs.update({"source_policy": str(path), "policy_env_steps": policy.env_steps})
        return data

    if kind == "random":
        if not args.env:
            raise LitIRLError("--kind random needs --env")
        data = rollout(EnvConfig(args.env), None, transitions=args.transitions, seed=args.seed, num_envs=args.num_envs)
        data.attrs["source_policy"] = "uniform random actions"
    elif kind in ("medium", "expert"):
        if not args.policy:
            raise LitIRLError(f"--kind {kind} needs --policy (a checkpoint or exported policy of {kind} level)")
        data = from_policy(load_policy_arg(args.policy), args.policy, args.seed)
    elif kind == "medium-replay":
        if not args.checkpoint:
            raise LitIRLError(
                "--kind medium-replay needs --checkpoint: the run's last.ckpt with --up-to-env-steps <medium step>, "
                "or a checkpoint at the medium level that holds its replay buffer"
            )
        data = replay_dataset(args.checkpoint, args.up_to_env_steps)
    elif kind == "medium-expert":
        if not (args.medium_policy and args.expert_policy):
            raise LitIRLError("--kind medium-expert needs --medium-policy and --expert-policy")
        # both loaded before either is rolled out: a bad --expert-policy fails at once
        medium_policy, expert_policy = load_policy_arg(args.medium_policy, "--medium-policy"), load_policy_arg(args.expert_policy, "--expert-policy")
        medium = from_policy(medium_policy, args.medium_policy, args.seed)
        expert = from_policy(expert_policy, args.expert_policy, args.seed + 1)
        data = concatenate([medium, expert], {**medium.attrs, "source_policy": f"{args.medium_policy} + {args.expert_policy}"})
    else:
        raise LitIRLError(f"unknown --kind {kind}")
    save_dataset(args.out_path, data, {"kind": kind, "seed": args.seed})
    print(f"{args.out}: {len(data):,} transitions ({kind}) in {time.time() - start:.0f} s")
    _print_returns("complete episodes", data.episode_returns())


def cmd_preferences(args: argparse.Namespace) -> None:
    from lit_irl.data.preferences import build_pairs, save_preferences
    from lit_irl.data.rollout import rollout

    paths = [Path(p) for p in args.checkpoints] if args.checkpoints else training_checkpoints(args.run_dir)
    label = "--checkpoints" if args.checkpoints else "checkpoint"
    # all loaded (small: the actors) before any is rolled out: a bad file or env mix fails at once
    policies, env_id = [], None
    for path in paths:
        policy = load_policy_arg(path, label)
        env_id = env_id or policy.env.env_id
        if policy.env.env_id != env_id:
            raise LitIRLError(f"{path} is for {policy.env.env_id}, the other checkpoints for {env_id}")
        policies.append(policy)
    episodes, sources = [], []
    for index, (path, policy) in enumerate(zip(paths, policies)):
        data = rollout(policy.env, policy.actor, episodes=args.episodes_per_checkpoint, seed=args.seed + 1000 * index, num_envs=args.num_envs, record_physics=False)
        episodes += [data.select(slice(s, e)) for s, e in data.episode_bounds()]
        sources.append(f"{path.name}:{data.episode_returns().mean():.0f}")
        print(f"{path}: return {data.episode_returns().mean():.1f}")
    demonstration_returns = tier_returns = None
    if args.demonstrations:
        from lit_irl.data.d4rl import load_dataset

        demonstration_returns = load_dataset(args.demonstrations, env_id=env_id).episode_returns()
        if args.tier_fractions:
            tier_returns = [f * demonstration_returns.mean() for f in args.tier_fractions]
    pairs = build_pairs(
        episodes, segment_length=args.segment_length, pairs=args.pairs, quantiles=args.quantiles,
        pair_tiers=args.pair_tiers, label=args.label, temperature=args.temperature, seed=args.seed,
        tier_returns=tier_returns, pairing=args.pairing,
    )  # fmt: skip
    save_preferences(args.out_path, pairs, {"env_id": env_id, "sources": ";".join(sources)})
    means = pairs.attrs["tier_mean_returns"]
    print(f"{args.out}: {len(pairs)} pairs of {args.segment_length}-step segments; trajectory return by tier: "
          + ", ".join(f"{t} {m:.1f}" for t, m in zip(("low", "medium", "high"), means)))
    print(quality_table(env_id, pairs, demonstration_returns))
    agreement, (preferred, rejected) = pairs.label_agreement(), pairs.winner_returns()
    print(f"labels agreeing with the segments' true returns: {agreement:.3f}; mean true segment return of the preferred "
          f"{preferred:.1f}, of the rejected {rejected:.1f}")
    if args.label == "tier" and agreement < 0.6:
        # Hopper-v5: classes that differ by when they fall, not by reward per step (results/aihf_hopper.md).
        print(f"warning: the tier labels barely agree with the segments' true returns ({agreement:.2f}): the classes differ in what "
              f"{args.segment_length}-step windows do not see (e.g. episode length); a reward model fits them by style. Label by the "
              "true returns (--label deterministic) or use longer segments (--segment-length).")


def quality_table(env_id: str, pairs, demonstration_returns: np.ndarray | None) -> str:
    """The data's quality in the AIHF paper's Table 1 layout: trajectory returns (mean ± std) of the
    non-preferred and preferred classes (the lower and higher pair tier) and of the demonstrations,
    with each one's ratio to the demonstration level."""
    tiers = [t for t in ("low", "medium", "high") if t in pairs.attrs["pair_tiers"].split(",")]
    means, stds = pairs.attrs["tier_mean_returns"], pairs.attrs["tier_std_returns"]
    index = {"low": 0, "medium": 1, "high": 2}
    lower, higher = index[tiers[0]], index[tiers[-1]]
    level = demonstration_returns.mean() if demonstration_returns is not None else None

    def cell(mean: float, std: float) -> str:
        return f"{mean:.1f} ± {std:.1f}" + (f" ({mean / level:.2f})" if level else "")

    demo = cell(level, demonstration_returns.std()) if level else "-"
    return "\n".join([
        "| task | Non-prefer data | Prefer data | Demonstration data |", "|---|---|---|---|",
        f"| {env_id} | {cell(means[lower], stds[lower])} | {cell(means[higher], stds[higher])} | {demo} |",
    ])  # fmt: skip


def cmd_checkpoints(args: argparse.Namespace) -> None:
    rows = evaluate_checkpoints(training_checkpoints(args.run_dir), args.episodes, args.seed)
    from lit_irl.data.scores import lit_irl_references

    env_id = load_policy_arg(rows[0][0], "checkpoint").env.env_id if rows else None
    pick = pick_by_fraction(rows, args.fraction, floor=lit_irl_references().get(env_id, {}).get("random", 0.0))
    for path, steps, mean, std in rows:
        marker = "  <- medium" if path == pick[0] else ""
        print(f"{steps:>9,d}  {mean:9.1f} ± {std:7.1f}  {path}{marker}")


def cmd_export(args: argparse.Namespace) -> None:
    from lit_irl.data.rollout import export_policy

    export_policy(load_policy_arg(args.policy), args.out_path)
    print(args.out)


def cmd_video(args: argparse.Namespace) -> None:
    from lit_irl.video import check_rendering, record_video

    check_rendering()  # before the policy is loaded: no GL backend is the likelier problem on a headless machine
    policy = load_policy_arg(args.policy)
    returns, lengths = record_video(
        policy.actor, policy.env, args.out_path, episodes=args.episodes, seed=args.seed, deterministic=not args.stochastic,
        width=args.width, height=args.height, fps=args.fps,
    )
    for index, (episode_return, length) in enumerate(zip(returns, lengths)):
        print(f"episode {index}: return {episode_return:.1f}, length {length}")
    print(args.out)


def cmd_relabel(args: argparse.Namespace) -> None:
    """Offline reward transfer's data side: a transition dataset whose rewards are a learned reward's.

    The file's own rewards move to ``infos/dataset_rewards`` (nothing is lost, nothing learns from
    them by accident); any offline RL code that reads D4RL files then trains on the learned reward."""
    import torch
    from tensordict import TensorDict

    from lit_irl.data.d4rl import load_dataset, save_dataset
    from lit_irl.rewards.models import load_reward

    data = load_dataset(args.dataset, env_id=args.env, require_complete_episode=False)
    reward = load_reward(args.reward_from, data.obs_dim, data.act_dim)
    rewards = []
    with torch.no_grad():
        for start in range(0, len(data), 65_536):
            rows = slice(start, start + 65_536)
            batch = TensorDict({
                "obs": torch.from_numpy(data.observations[rows]), "action": torch.from_numpy(data.actions[rows]),
                "next_obs": torch.from_numpy(data.next_observations[rows]),
            }, batch_size=[len(data.rewards[rows])])  # fmt: skip
            rewards.append(reward(batch).numpy())
    data.infos["dataset_rewards"] = data.rewards
    data.rewards = np.concatenate(rewards).astype(np.float32)
    data.attrs.pop("episode_returns", None)
    save_dataset(args.out_path, data, {"reward_source": str(args.reward_from), "relabelled_from": str(args.dataset)})
    pearson = np.corrcoef(data.rewards, data.infos["dataset_rewards"])[0, 1] if data.rewards.std() > 0 else float("nan")
    print(f"{args.out}: {len(data):,} transitions relabelled by {args.reward_from}; "
          f"learned reward {data.rewards.mean():.3f} ± {data.rewards.std():.3f}, Pearson with the file's rewards {pearson:.3f}")


def cmd_inspect(args: argparse.Namespace) -> None:
    import h5py
    from rich.console import Console
    from rich.table import Table

    from lit_irl.data.d4rl import load_dataset
    from lit_irl.data.preferences import load_preferences

    path = Path(args.file)
    try:
        with h5py.File(path, "r") as f:
            is_preferences = f.attrs.get("kind") == "preferences"
    except Exception:  # not HDF5 (or a minari:<id>): load_dataset names the problem
        is_preferences = False
    table = Table(title=str(path))
    table.add_column("field")
    table.add_column("value")
    if is_preferences:
        pairs = load_preferences(path)
        table.add_row("pairs", f"{len(pairs):,}")
        table.add_row("segment shape (obs / act)", f"{pairs.obs_a.shape[1:]} / {pairs.act_a.shape[1:]}")
        table.add_row("label = a preferred", f"{pairs.label.mean():.2f}")
        table.add_row("labels agreeing with true return", f"{pairs.label_agreement():.3f}")
        rows = pairs.attrs
    else:
        data = load_dataset(args.file, require_complete_episode=False)
        returns = data.episode_returns()
        lengths = np.array([e - s for s, e in data.episode_bounds()])
        table.add_row("transitions", f"{len(data):,}")
        table.add_row("observation / action dims", f"{data.obs_dim} / {data.act_dim}")
        table.add_row("complete episodes", f"{len(returns):,}")
        table.add_row("terminals / timeouts", f"{int(data.terminals.sum()):,} / {int(data.timeouts.sum()):,}")
        if len(returns):
            table.add_row("episode return mean ± std", f"{returns.mean():.1f} ± {returns.std():.1f}")
            table.add_row("episode return min / median / max", f"{returns.min():.1f} / {np.median(returns):.1f} / {returns.max():.1f}")
            table.add_row("episode length min / mean / max", f"{lengths.min()} / {lengths.mean():.1f} / {lengths.max()}")
            from lit_irl.data.scores import normalized_score

            env_id = data.attrs.get("env_id")
            score = normalized_score(env_id, float(returns.mean())) if env_id else None
            if score is not None:
                table.add_row("normalized score (lit_irl reference)", f"{score:.1f}")
        table.add_row("reward mean ± std", f"{data.rewards.mean():.3f} ± {data.rewards.std():.3f}")
        table.add_row("infos", ", ".join(data.infos) or "-")
        rows = data.attrs
    for key, value in rows.items():
        if key != "episode_returns":
            table.add_row(f"attr {key}", str(value))
    Console().print(table)


# ------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lit-irl-data", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demos", help="roll out a policy for N episodes into an expert demonstration file")
    p.add_argument("--policy", required=True, help="training checkpoint (.ckpt) or exported policy (.pt)")
    p.add_argument("--episodes", type=int, default=10, help="complete episodes to record (default 10)")
    p.add_argument("--out", required=True, help="output HDF5 (D4RL format)")
    p.add_argument("--stochastic", action="store_true", help="sample actions (default: the deterministic mean action)")
    p.add_argument("--seed", type=int, default=0, help="episode i starts from reset seed derived from (seed, i)")
    p.add_argument("--num-envs", type=int, default=8, help="envs stepped side by side (batched inference)")
    p.set_defaults(run=cmd_demos)

    p = sub.add_parser("offline", help="D4RL-protocol datasets: random, medium, medium-replay, expert, medium-expert")
    p.add_argument("--kind", required=True, choices=["random", "medium", "medium-replay", "expert", "medium-expert"])
    p.add_argument("--env", help="env id (random only; the other kinds take it from the policy)")
    p.add_argument("--policy", help="medium / expert: the policy to roll out (stochastic, as D4RL)")
    p.add_argument("--medium-policy", help="medium-expert: the medium policy")
    p.add_argument("--expert-policy", help="medium-expert: the expert policy")
    p.add_argument("--checkpoint", help="medium-replay: a training checkpoint holding the replay buffer (the run's last.ckpt)")
    p.add_argument("--up-to-env-steps", type=int, help="medium-replay: keep the transitions of the first N env steps (N = the medium checkpoint's step)")
    p.add_argument("--transitions", type=int, default=1_000_000, help="transitions per policy (default 1M, as D4RL)")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-envs", type=int, default=16)
    p.set_defaults(run=cmd_offline)

    p = sub.add_parser("preferences", help="labelled segment pairs from the checkpoints of one training run")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--run-dir", help="run folder whose checkpoints/env_steps=*.ckpt are used")
    source.add_argument("--checkpoints", nargs="+", help="explicit checkpoint list")
    p.add_argument("--episodes-per-checkpoint", type=int, default=5)
    p.add_argument("--segment-length", type=int, default=50)
    p.add_argument("--pairs", type=int, default=2000)
    p.add_argument("--quantiles", type=float, nargs=2, default=[1 / 3, 2 / 3], help="return quantiles splitting low / medium / high")
    p.add_argument("--pair-tiers", nargs="+", default=["low", "medium"], choices=["low", "medium", "high"], help="tiers segments are drawn from")
    p.add_argument("--demonstrations", help="the demonstration file: its mean return is the level --tier-fractions and the quality table refer to")
    p.add_argument("--tier-fractions", type=float, nargs="+", help="[floor] low/medium medium/high bounds as fractions of the demonstrations' mean return "
                   "(instead of --quantiles); trajectories under the floor are left out")
    p.add_argument("--pairing", choices=["within", "across"], default="within", help="across: segment a from the higher, b from the lower pair tier")
    p.add_argument("--label", choices=["deterministic", "bradley-terry", "tier"], default="deterministic",
                   help="deterministic: the higher segment return wins; tier: the better class wins (the AIHF paper)")
    p.add_argument("--temperature", type=float, default=1.0, help="Bradley-Terry beta: P(a>b) = sigmoid((R_a - R_b)/beta)")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-envs", type=int, default=8)
    p.set_defaults(run=cmd_preferences)

    p = sub.add_parser("checkpoints", help="deterministic return of every kept checkpoint of a run; marks the medium one")
    p.add_argument("--run-dir", required=True)
    p.add_argument("--episodes", type=int, default=3)
    p.add_argument("--fraction", type=float, default=1 / 3, help="medium = closest to this fraction of the best return")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=cmd_checkpoints)

    p = sub.add_parser("export", help="write the actor of a checkpoint alone (small; for the zoo)")
    p.add_argument("--policy", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("video", help="render episodes of a policy into an mp4 or gif (MuJoCo offscreen: MUJOCO_GL=egl or osmesa)")
    p.add_argument("--policy", required=True, help="training checkpoint (.ckpt) or exported policy (.pt)")
    p.add_argument("--episodes", type=int, default=1, help="episodes, one after the other in one video (default 1)")
    p.add_argument("--out", required=True, help="output video: .mp4 (H.264) or .gif")
    p.add_argument("--stochastic", action="store_true", help="sample actions (default: the deterministic mean action)")
    p.add_argument("--seed", type=int, default=0, help="episode i starts from the reset seed `demos` uses for (seed, i)")
    p.add_argument("--width", type=int, default=480, help="frame width in pixels (even for mp4; default 480)")
    p.add_argument("--height", type=int, default=480, help="frame height in pixels (even for mp4; default 480)")
    p.add_argument("--fps", type=int, help="frames per second (default: the env's real time, e.g. 125 for Hopper)")
    p.set_defaults(run=cmd_video)

    p = sub.add_parser("relabel", help="a copy of a transition dataset rewarded by a learned reward (offline reward transfer)")
    p.add_argument("--dataset", required=True, help="D4RL-format transitions (or minari:<id>)")
    p.add_argument("--reward-from", required=True, help="an IRL checkpoint whose learned reward labels the rows")
    p.add_argument("--env", help="refuse a dataset of another env (checked against the file's env_id)")
    p.add_argument("--out", required=True)
    p.set_defaults(run=cmd_relabel)

    p = sub.add_parser("inspect", help="summary table of a dataset or preference file")
    p.add_argument("file")
    p.set_defaults(run=cmd_inspect)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        check_arguments(args)
        args.run(args)
    except LitIRLError as error:
        print(f"lit-irl-data: error: {_one_line(error)}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
