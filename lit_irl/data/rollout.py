"""Policies on disk and batched rollouts into D4RL-format data.

A policy file is either a Lightning checkpoint of any learner (``runs/.../last.ckpt``) or an
exported policy (``zoo/<env>/expert.pt``: actor weights and its architecture, a few hundred kB).
:func:`load_policy` reads both, whichever actor class the learner used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lit_irl.checkpoint_io import load_checkpoint_file
from lit_irl.data.collect import EnvRunner, derive_seed
from lit_irl.data.d4rl import TransitionData
from lit_irl.envs import EnvConfig, probe_env
from lit_irl.errors import LitIRLError
from lit_irl.files import atomic_write
from lit_irl.nn import Actor, TanhGaussianActor, build_actor
from lit_irl.policy import SACConfig

POLICY_FORMAT = "lit_irl.policy.v2"  # the actor carries its architecture (spec)
LEGACY_POLICY_FORMAT = "lit_irl.policy.v1"  # tanh-Gaussian only: hidden sizes and activation


@dataclass
class Policy:
    """An actor with the env it acts in."""

    actor: Actor
    env: EnvConfig
    source: str
    env_steps: int
    meta: dict[str, Any]


def config_from_hparams(cls: type, value: Any) -> Any:
    """Checkpoints written through the CLI hold configs as dicts, those written from Python as
    dataclasses; fields that lit_irl no longer has (e.g. ``hide_reward``) are dropped."""
    if not isinstance(value, dict):
        return value
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in value.items() if k in known})


def _legacy_tanh_actor(env: EnvConfig, hidden: list[int], activation: str) -> TanhGaussianActor:
    spec = probe_env(env)
    return TanhGaussianActor(spec.obs_dim, spec.act_dim, hidden, spec.action_low, spec.action_high, activation)


def _loaded(actor: torch.nn.Module, weights: dict[str, torch.Tensor], path: Path) -> Actor:
    try:
        actor.load_state_dict(weights)
    except RuntimeError as error:
        raise LitIRLError(f"{path}: the actor's weights do not fit its architecture ({str(error).splitlines()[0]}); the file is damaged") from None
    return actor.eval()


def load_policy(path: str | Path) -> Policy:
    """The actor of a training checkpoint (any learner) or of an exported policy file."""
    path = Path(path)
    state = load_checkpoint_file(path)
    if state.get("format") in (POLICY_FORMAT, LEGACY_POLICY_FORMAT):
        env = config_from_hparams(EnvConfig, state["env"])
        if state["format"] == POLICY_FORMAT:
            actor = build_actor(state["actor_spec"])
        else:
            actor = _legacy_tanh_actor(env, state["hidden"], state["activation"])
        return Policy(_loaded(actor, state["actor"], path), env, str(path), int(state["env_steps"]), dict(state.get("meta", {})))
    if "lit_irl" not in state or "hyper_parameters" not in state:
        raise LitIRLError(
            f"{path} is neither a lit_irl checkpoint nor an exported policy; pass runs/<run>/checkpoints/*.ckpt or zoo/<env>/*.pt"
        )
    identity, hparams = state["lit_irl"], state["hyper_parameters"]
    env = config_from_hparams(EnvConfig, hparams["env"])
    if "actor" in identity:
        actor = build_actor(identity["actor"])
    elif hparams.get("sac") is not None:  # written before actors carried their spec: a SAC actor
        sac = config_from_hparams(SACConfig, hparams["sac"])
        actor = _legacy_tanh_actor(env, list(sac.actor_hidden), sac.activation)
    else:
        raise LitIRLError(f"{path} was written by {identity['algo']}, which has no actor to roll out")
    weights = {k[len("actor.") :]: v for k, v in state["state_dict"].items() if k.startswith("actor.")}
    unit = identity.get("progress_unit", "env_steps")
    steps = int(state["state_dict"].get("env_steps", 0)) if unit == "env_steps" else 0
    return Policy(_loaded(actor, weights, path), env, str(path), steps, {"algo": identity["algo"], unit: int(state["state_dict"][unit])})


def load_actor_for(path: str | Path, env_id: str, spec: Any, kind: type | None = None) -> torch.nn.Module:
    """The actor of ``path`` (any learner's checkpoint or an exported policy) to start another
    learner from (``init_from``) or to regularize towards (``reference_from``): its dims must be
    ``spec``'s, and, when given, its class ``kind``."""
    policy = load_policy(path)
    if (policy.actor.obs_dim, policy.actor.act_dim) != (spec.obs_dim, spec.act_dim):
        raise LitIRLError(
            f"the actor of {path} is for obs {policy.actor.obs_dim} / act {policy.actor.act_dim}, {env_id} has {spec.obs_dim} / {spec.act_dim}"
        )
    if kind is not None and not isinstance(policy.actor, kind):
        raise LitIRLError(
            f"the actor of {path} is a {type(policy.actor).__name__}; this learner needs a {kind.__name__} "
            "(e.g. BC with head: tanh_gaussian, or a SAC checkpoint)"
        )
    return policy.actor.train()


def random_policy_returns(env_config: EnvConfig, episodes: int = 10, seed: int = 300) -> np.ndarray:
    """True returns of uniform random actions (the random reference of scores and tables)."""
    return rollout(env_config, None, episodes=episodes, seed=seed, record_physics=False).episode_returns()


def export_policy(policy: Policy, path: str | Path, meta: dict[str, Any] | None = None) -> Path:
    """Write the actor alone (for the zoo), with its architecture, atomically."""
    path = Path(path)
    payload = {
        "format": POLICY_FORMAT,
        "env": asdict(policy.env),
        "actor_spec": policy.actor.spec(),
        "actor": policy.actor.state_dict(),
        "env_steps": policy.env_steps,
        "meta": {**policy.meta, **(meta or {}), "source": policy.source},
    }
    with atomic_write(path) as tmp:
        torch.save(payload, tmp)
    return path


@torch.no_grad()
def rollout(
    env_config: EnvConfig,
    actor: Actor | None,
    *,
    episodes: int | None = None,
    transitions: int | None = None,
    deterministic: bool = False,
    seed: int = 0,
    num_envs: int = 16,
    record_physics: bool = True,
    past_termination: bool = False,
) -> TransitionData:
    """Roll out ``actor`` (``None``: uniform random actions) for whole episodes or a transition budget.

    ``past_termination``: an env's termination (a fall) does not end the episode: the physics keep
    running to the time limit and no row is marked terminal (how gym's old API let the official
    ML-IRL code roll out fixed-length trajectories).

    ``num_envs`` environments step in turn while the policy acts on all of them in one batched
    forward pass (:class:`~lit_irl.data.collect.EnvRunner`). Episode ``i`` starts from
    ``derive_seed(seed, i)`` with its own noise stream, so the data are bit-identical for the same
    seed whatever ``num_envs``. With ``episodes``, exactly that many complete episodes are returned,
    in order of their seeds; with ``transitions``, the first that many rows (finished episodes
    first; the last episode may be unfinished, as in D4RL, and the other envs' unfinished episodes
    before it end in a timeout: the budget truncated them). Rows hold the executed (in-box) action
    and ``infos/qpos`` / ``infos/qvel`` for MuJoCo envs when ``record_physics``.
    """
    if (episodes is None) == (transitions is None):
        raise ValueError("give exactly one of episodes or transitions")
    if (episodes if episodes is not None else transitions) <= 0:
        raise LitIRLError(f"rollout needs a positive number of episodes or transitions, got episodes={episodes}, transitions={transitions}")
    num_envs = max(1, min(num_envs, episodes if episodes is not None else num_envs))
    runner = EnvRunner(env_config, seed, num_envs=num_envs, episode_seed=lambda k: derive_seed(seed, k))
    try:
        results = runner.run_episodes(
            actor,
            episodes=episodes,
            max_rows=transitions,
            deterministic=deterministic,
            noise_seed=lambda k: derive_seed(seed, k, 7),
            past_termination=past_termination,
            record_physics=record_physics,
        )
    finally:
        runner.close()
    ordered = sorted(results, key=lambda episode: (not episode.finished, episode.index))
    rows, cut_by_budget = [], set()
    for episode in ordered:
        episode_rows = list(episode.rows)
        if not episode.finished and episode_rows:
            # Cut by the budget: a truncation, so that the next env's unfinished episode is not read
            # as its continuation (the last one of the data stays open).
            obs, action, reward, terminated, _, next_obs = episode_rows[-1]
            episode_rows[-1] = (obs, action, reward, terminated, True, next_obs)
            cut_by_budget.add(len(rows) + len(episode_rows) - 1)
        rows += episode_rows
    physics = record_physics and any(episode.qpos for episode in ordered)
    if transitions is not None:
        rows = rows[:transitions]
        if len(rows) - 1 in cut_by_budget:  # the data's last episode stays open, as D4RL's
            obs, action, reward, terminated, _, next_obs = rows[-1]
            rows[-1] = (obs, action, reward, terminated, False, next_obs)
    obs_a, act_a, rew_a, term_a, trunc_a, next_a = zip(*rows)
    infos = {}
    if physics:
        infos = {
            "qpos": np.array([q for episode in ordered for q in episode.qpos][: len(rows)], dtype=np.float64),
            "qvel": np.array([q for episode in ordered for q in episode.qvel][: len(rows)], dtype=np.float64),
        }
    return TransitionData(
        np.array(obs_a, dtype=np.float32),
        np.array(act_a, dtype=np.float32),
        np.array(rew_a, dtype=np.float32),
        np.array(term_a, dtype=bool),
        np.array(trunc_a, dtype=bool),
        np.array(next_a, dtype=np.float32),
        infos,
        {"env_id": env_config.env_id, "termination": env_config.termination, "seed": seed, "deterministic": deterministic},
    )
