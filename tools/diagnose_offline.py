"""Why does an Offline ML-IRL policy end its episodes? What it is paid, along real episodes.

    python tools/diagnose_offline.py results/carry/offline_ml_irl_medium_replay/seed0/last.ckpt \\
        --dataset data/hopper-medium-replay.hdf5 --world-model results/carry/offline_world_model_medium_replay/seed0/last.ckpt

Runs the checkpoint's policy deterministically in the real env and prints, per tenth of each episode
and for its last steps: the learned reward r_theta(s, a), the world model's penalty u(s, a), what
MOPO's SAC step is paid on such a model row (r_theta - lambda u), the critic's Q(s, a), the model's
one-step error (elites' mean prediction vs the real next state), height and angle. Then the same
reward terms on the expert's (s, a) and on dataset rows. A penalized reward below 0 where the expert
acts means the penalty, not the reward, decides what the policy does; a Q that falls long before
the end means the critic expected the end. Last, the reward step's rows (model rollouts from the
expert's initial states, the expert's (s, a)) against the reward's clip: a reward past its clip on
most rows pays every state the same.

``--dataset`` / ``--world-model``: where the run's files are now, if they moved since it ran (the
world model's weights come from the checkpoint itself; its file is only read for its architecture).
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np
import torch
from tensordict import TensorDict

from lit_irl.algos import OfflineMLIRL
from lit_irl.algos.learner import TrainingConfig
from lit_irl.algos.mopo import MOPOConfig
from lit_irl.checkpoint_io import load_checkpoint_file
from lit_irl.data.rollout import config_from_hparams
from lit_irl.envs import EnvConfig
from lit_irl.models.penalties import uncertainty_penalty
from lit_irl.policy import SACConfig
from lit_irl.rewards import RewardConfig


def load_learner(path: str, dataset: str | None, world_model: str | None) -> OfflineMLIRL:
    state = load_checkpoint_file(path)
    algo = state.get("lit_irl", {}).get("algo")
    if algo != OfflineMLIRL.__name__:
        raise SystemExit(f"{path} was written by {algo}, not OfflineMLIRL; pass an Offline ML-IRL checkpoint")
    hparams = {key: value for key, value in state["hyper_parameters"].items() if not key.startswith("_")}
    configs = {"env": EnvConfig, "training": TrainingConfig, "reward": RewardConfig, "mopo": MOPOConfig, "sac": SACConfig}
    hparams.update({key: config_from_hparams(cls, hparams[key]) for key, cls in configs.items()})
    hparams["recovery_transitions"] = 0
    hparams["dataset"] = dataset or hparams["dataset"]
    hparams["world_model"] = world_model or hparams["world_model"]
    learner = OfflineMLIRL(**hparams)
    learner.load_state_dict(state["state_dict"])
    return learner.eval()


@torch.no_grad()
def paid(learner: OfflineMLIRL, obs: torch.Tensor, action: torch.Tensor, next_obs: torch.Tensor) -> dict[str, torch.Tensor]:
    """r_theta, u, r_theta - lambda u, Q and the model's one-step error on rows (s, a, s')."""
    config = learner.mopo_config
    reward = learner.reward(TensorDict({"obs": obs, "action": action, "next_obs": next_obs}, batch_size=[obs.shape[0]]))
    mean, logvar = learner.world_model(obs, action)
    penalty = uncertainty_penalty(config.penalty, mean, logvar, obs_dim=learner.world_model.obs_dim)
    predicted = obs + mean[learner.world_model.elites, :, : learner.world_model.obs_dim].mean(0)
    q = learner.policy.critic(torch.cat([obs, action], -1)).min(0).values.squeeze(-1)
    return {"r_theta": reward, "u": penalty, "r-lambda*u": reward - config.penalty_coef * penalty, "Q": q,
            "model_err": (predicted - next_obs).norm(dim=-1)}  # fmt: skip


def episode(learner: OfflineMLIRL, env: gym.Env, seed: int) -> tuple[dict[str, torch.Tensor], torch.Tensor, float, bool]:
    obs, _ = env.reset(seed=seed)
    rows, total, done, terminated = [], 0.0, False, False
    while not done:
        state = torch.as_tensor(obs, dtype=torch.float32)
        action = learner.actor.act(state[None], deterministic=True)[0]
        obs, reward, terminated, truncated, _ = env.step(action.numpy())
        rows.append((state, action, torch.as_tensor(obs, dtype=torch.float32)))
        total, done = total + float(reward), terminated or truncated
    obs_, action_, next_ = (torch.stack(part) for part in zip(*rows))
    return paid(learner, obs_, action_, next_), next_, total, terminated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("--dataset")
    parser.add_argument("--world-model")
    parser.add_argument("--episodes", type=int, default=2)
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--last", type=int, default=10, help="steps printed one by one at each episode's end")
    args = parser.parse_args()
    torch.set_num_threads(1)
    learner = load_learner(args.checkpoint, args.dataset, args.world_model)
    env = gym.make(learner.env_config.env_id)
    print(f"lambda {learner.mopo_config.penalty_coef}, penalty {learner.mopo_config.penalty}")
    for k in range(args.episodes):
        terms, next_obs, total, terminated = episode(learner, env, args.seed + k)
        steps = next_obs.shape[0]
        print(f"\nepisode {k}: {steps} steps, return {total:.0f}, {'terminated' if terminated else 'truncated'}; columns: height, angle of s'")
        chunk = max(steps // 10, 1)
        for start in range(0, steps, chunk):
            part = slice(start, min(start + chunk, steps))
            cells = " ".join(f"{name} {values[part].mean():7.3f}" for name, values in terms.items())
            print(f"  t {start:4d}-{part.stop:4d}: {cells} | {next_obs[part, 0].mean():5.2f} {next_obs[part, 1].mean():6.3f}")
        for t in range(max(0, steps - args.last), steps):
            cells = " ".join(f"{name} {values[t]:7.3f}" for name, values in terms.items())
            print(f"  t {t:4d}     : {cells} | {next_obs[t, 0]:5.2f} {next_obs[t, 1]:6.3f}")
    expert = learner.expert
    rows = np.random.default_rng(args.seed).integers(0, learner.real["obs"].shape[0], 20_000)
    for name, (obs, action, next_obs) in {
        "expert (s, a), first reward_horizon steps": (expert["obs"].flatten(0, 1), expert["action"].flatten(0, 1), expert["next_obs"].flatten(0, 1)),
        "dataset rows (20,000 drawn)": (learner.real["obs"][rows], learner.real["action"][rows], learner.real["next_obs"][rows]),
    }.items():  # fmt: skip
        terms = paid(learner, obs, action, next_obs)
        cells = " ".join(f"{key} {values.mean():7.3f}" for key, values in terms.items() if key != "Q")
        print(f"\n{name}: {cells}, share r-lambda*u < 0: {(terms['r-lambda*u'] < 0).float().mean():.2f}")
    clip_report(learner)


@torch.no_grad()
def clip_report(learner: OfflineMLIRL) -> None:
    """What the reward step's rows look like to the clip: the unclipped r_theta and the share of rows
    past +-clamp, where the clip pays a constant (and, with ``clamp_gradient: zero``, passes no gradient)."""
    clamp = learner.reward.config.clamp
    if clamp is None:
        return
    agent, mask = learner.agent_trajectories()
    for name, raw in {"agent model rollouts": learner.reward.unclipped(agent)[mask.bool()],
                      "expert (s, a)": learner.reward.unclipped(learner.expert).flatten()}.items():  # fmt: skip
        print(f"reward step, {name} ({raw.numel()} rows): unclipped r_theta {raw.mean():.2f}, past +{clamp:g}: "
              f"{(raw >= clamp).float().mean():.2f}, past -{clamp:g}: {(raw <= -clamp).float().mean():.2f}")


if __name__ == "__main__":
    main()
