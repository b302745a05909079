"""Policies on disk and batched rollouts into D4RL-format data.

A policy file is either a Lightning checkpoint of an online algorithm (``runs/.../last.ckpt``) or
an exported policy (``zoo/<env>/expert.pt``: actor weights and what is needed to rebuild it, a few
hundred kB). :func:`load_policy` reads both.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lit_irl.checkpoint_io import load_checkpoint_file
from lit_irl.data.collect import derive_seed
from lit_irl.data.d4rl import TransitionData
from lit_irl.envs import EnvConfig, make_env, probe_env
from lit_irl.errors import LitIRLError
from lit_irl.files import atomic_write
from lit_irl.nn import TanhGaussianActor
from lit_irl.policy import SACConfig

POLICY_FORMAT = "lit_irl.policy.v1"


@dataclass
class Policy:
    """An actor with the env it acts in."""

    actor: TanhGaussianActor
    env: EnvConfig
    source: str
    env_steps: int
    meta: dict[str, Any]


def config_from_hparams(cls: type, value: Any) -> Any:
    """Checkpoints written through the CLI hold configs as dicts, those written from Python as dataclasses."""
    return cls(**value) if isinstance(value, dict) else value


def _actor_from_state(env: EnvConfig, hidden: list[int], activation: str, state: dict[str, torch.Tensor]) -> TanhGaussianActor:
    spec = probe_env(env)
    actor = TanhGaussianActor(spec.obs_dim, spec.act_dim, hidden, spec.action_low, spec.action_high, activation)
    actor.load_state_dict(state)
    return actor.eval()


def load_policy(path: str | Path) -> Policy:
    """The actor of a training checkpoint or of an exported policy file."""
    path = Path(path)
    state = load_checkpoint_file(path)
    if state.get("format") == POLICY_FORMAT:
        env = EnvConfig(**state["env"])
        actor = _actor_from_state(env, state["hidden"], state["activation"], state["actor"])
        return Policy(actor, env, str(path), int(state["env_steps"]), dict(state.get("meta", {})))
    if "lit_irl" not in state or "hyper_parameters" not in state:
        raise LitIRLError(f"{path} is neither a lit_irl checkpoint nor an exported policy; pass runs/<run>/checkpoints/*.ckpt or zoo/<env>/*.pt")
    hparams = state["hyper_parameters"]
    if hparams.get("sac") is None:
        raise LitIRLError(f"{path} was written by {state['lit_irl']['algo']}, which has no SAC actor to roll out")
    sac, env = config_from_hparams(SACConfig, hparams["sac"]), config_from_hparams(EnvConfig, hparams["env"])
    prefix = "policy.actor."
    actor_state = {k[len(prefix) :]: v for k, v in state["state_dict"].items() if k.startswith(prefix)}
    actor = _actor_from_state(env, list(sac.actor_hidden), sac.activation, actor_state)
    return Policy(actor, env, str(path), int(state["state_dict"]["env_steps"]), {"algo": state["lit_irl"]["algo"]})


def export_policy(policy: Policy, path: str | Path, meta: dict[str, Any] | None = None) -> Path:
    """Write the actor alone (for the zoo), atomically."""
    path = Path(path)
    hidden = [m.out_features for m in policy.actor.net if isinstance(m, torch.nn.Linear)][:-1]
    activation = next(type(m).__name__.lower() for m in policy.actor.net if not isinstance(m, torch.nn.Linear))
    payload = {
        "format": POLICY_FORMAT,
        "env": asdict(policy.env),
        "hidden": hidden,
        "activation": activation,
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
    actor: TanhGaussianActor | None,
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
    forward pass (the cost of inference is then negligible next to physics). With ``episodes``,
    exactly that many complete episodes are returned, in order of their seeds; with
    ``transitions``, the first that many rows (the last episode may be unfinished, as in D4RL).
    Rows hold ``infos/qpos`` and ``infos/qvel`` for MuJoCo envs when ``record_physics``.
    """
    if (episodes is None) == (transitions is None):
        raise ValueError("give exactly one of episodes or transitions")
    if (episodes if episodes is not None else transitions) <= 0:
        raise LitIRLError(f"rollout needs a positive number of episodes or transitions, got episodes={episodes}, transitions={transitions}")
    num_envs = max(1, min(num_envs, episodes if episodes is not None else num_envs))
    envs = [make_env(env_config) for _ in range(num_envs)]
    spec = probe_env(env_config)
    # One random stream per episode: episode i starts from the same state with the same noise
    # whatever num_envs (bit-identical data for the same seed and num_envs).
    generators = [torch.Generator().manual_seed(derive_seed(seed, e, 7)) for e in range(num_envs)]
    physics = record_physics and hasattr(envs[0].unwrapped, "data")
    low, high = spec.action_low, spec.action_high

    episode_rows: dict[int, list[tuple]] = {}
    finished: list[tuple[int, list[tuple]]] = []  # (episode index, rows)
    current = list(range(num_envs))  # episode index run by each env
    next_episode = num_envs
    obs = [env.reset(seed=derive_seed(seed, e))[0] for env, e in zip(envs, current)]
    for e in current:
        episode_rows[e] = []
    rows_total = 0
    device = actor.action_scale.device if actor is not None else torch.device("cpu")
    while any(c is not None for c in current) if episodes is not None else rows_total < transitions:
        batch = torch.as_tensor(np.stack(obs), dtype=torch.float32)
        if actor is None:
            actions = low + (high - low) * torch.stack([torch.rand(spec.act_dim, generator=g) for g in generators])
        else:
            # The noise is drawn on the CPU generators (reproducible on any device), then moved.
            noise = None if deterministic else torch.stack([torch.randn(spec.act_dim, generator=g) for g in generators]).to(device)
            actions = actor.act(batch.to(device), deterministic=deterministic, noise=noise)
        actions = actions.cpu().numpy()
        for i, env in enumerate(envs):
            e = current[i]
            if e is None:
                continue
            qpos = qvel = None
            if physics:
                qpos, qvel = env.unwrapped.data.qpos.copy(), env.unwrapped.data.qvel.copy()
            next_obs, reward, terminated, truncated, _ = env.step(actions[i])
            terminated = terminated and not past_termination
            episode_rows[e].append((obs[i], actions[i], reward, terminated, truncated, next_obs, qpos, qvel))
            rows_total += 1
            if terminated or truncated:
                finished.append((e, episode_rows.pop(e)))
                if episodes is not None and next_episode >= episodes:
                    current[i] = None
                    continue
                current[i], next_episode = next_episode, next_episode + 1
                episode_rows[current[i]] = []
                generators[i].manual_seed(derive_seed(seed, current[i], 7))
                obs[i] = env.reset(seed=derive_seed(seed, current[i]))[0]
            else:
                obs[i] = next_obs
    for env in envs:
        env.close()

    ordered = sorted(finished, key=lambda item: item[0])
    if transitions is not None:
        ordered += sorted(episode_rows.items())  # unfinished episodes last, as D4RL's tail
    rows = [row for _, episode in ordered for row in episode]
    if transitions is not None:
        rows = rows[:transitions]
    obs_a, act_a, rew_a, term_a, trunc_a, next_a, qpos_a, qvel_a = zip(*rows)
    infos = {"qpos": np.array(qpos_a, dtype=np.float64), "qvel": np.array(qvel_a, dtype=np.float64)} if physics else {}
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
