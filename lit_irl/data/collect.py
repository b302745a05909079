"""Collection: step environments with the current policy and return transitions.

Two interchangeable runners with one interface, ``collect(steps, actor) -> (transitions, episodes)``:

- :class:`EnvRunner` (``collector: fast``, the default): steps one gymnasium env in-process with
  preallocated arrays and no tensordict traffic per step. TorchRL's ``Collector`` over ``GymEnv``
  runs at about a third of a plain gymnasium loop on these envs (``tools/bench_throughput.py``
  prints both), and collection bounds every experiment, hence this path. It also snapshots the
  env exactly, which the TorchRL path cannot (exact resume).
- :class:`TorchRLRunner` (``collector: torchrl`` / ``torchrl_multi``): TorchRL's ``Collector`` or
  ``MultiSyncCollector`` (worker processes) over the same gymnasium env stack, for many or slow
  envs. Resuming such a run restarts episodes (not bit-identical).

Randomness: every draw of the fast path (warm-up actions, policy noise, episode seeds) comes from
the runner's own generator and per-episode seeds derived from ``(seed, rank, episode)``, so it is
saved and restored with the runner and is independent of the learner's random stream.
"""

from __future__ import annotations

import copy
import functools
from typing import Literal

import numpy as np
import torch
from tensordict import TensorDict

from lit_irl.envs import EnvConfig, get_env_state, make_env, set_env_state
from lit_irl.nn import TanhGaussianActor

COLLECTORS = ("fast", "torchrl", "torchrl_multi")
CollectorKind = Literal["fast", "torchrl", "torchrl_multi"]
Episode = tuple[float, int]  # (true return, length) of a finished episode


def derive_seed(*parts: int) -> int:
    """A 32-bit seed from integers (seed, rank, episode, ...), decorrelated by SeedSequence."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


class EnvRunner:
    """Steps one gymnasium env; keeps the unfinished episode across :meth:`collect` calls."""

    kind = "fast"  # which runner wrote a saved state

    def __init__(self, env_config: EnvConfig, seed: int, rank: int = 0) -> None:
        self.env = make_env(env_config)
        self.seed, self.rank = seed, rank
        self.generator = torch.Generator().manual_seed(derive_seed(seed, rank, 2**31 - 1))
        space = self.env.action_space
        self.action_low = torch.as_tensor(space.low, dtype=torch.float32)
        self.action_range = torch.as_tensor(space.high - space.low, dtype=torch.float32)
        self.obs_dim = int(np.prod(self.env.observation_space.shape))
        self.act_dim = int(np.prod(space.shape))
        self.episode = 0
        self.obs: np.ndarray | None = None
        self.episode_return = 0.0
        self.episode_length = 0

    def _reset(self) -> np.ndarray:
        obs, _ = self.env.reset(seed=derive_seed(self.seed, self.rank, self.episode))
        self.episode += 1
        self.episode_return, self.episode_length = 0.0, 0
        return obs

    def collect(self, steps: int, actor: TanhGaussianActor | None) -> tuple[TensorDict, list[Episode]]:
        """``steps`` transitions; ``actor=None`` draws actions uniformly from the action box (warm-up)."""
        obs_buf = np.empty((steps, self.obs_dim), dtype=np.float32)
        next_obs_buf = np.empty((steps, self.obs_dim), dtype=np.float32)
        act_buf = np.empty((steps, self.act_dim), dtype=np.float32)
        reward_buf = np.empty(steps, dtype=np.float32)
        terminated_buf = np.empty(steps, dtype=bool)
        done_buf = np.empty(steps, dtype=bool)
        finished: list[Episode] = []
        obs = self.obs if self.obs is not None else self._reset()
        device = self.action_low.device if actor is None else next(actor.parameters()).device
        on_accelerator = device.type != "cpu"
        for i in range(steps):
            obs_buf[i] = obs
            if actor is None:
                action = self.action_low + self.action_range * torch.rand(self.act_dim, generator=self.generator)
            else:
                obs_t = torch.from_numpy(obs_buf[i : i + 1])
                if on_accelerator:  # the generator stays on the CPU: the same noise on any device
                    action = actor.act(obs_t.to(device), generator=self.generator)[0].cpu()
                else:
                    action = actor.act(obs_t, generator=self.generator)[0]
            action = action.numpy()
            act_buf[i] = action
            obs, reward, terminated, truncated, _ = self.env.step(action)
            next_obs_buf[i] = obs
            reward_buf[i] = reward
            terminated_buf[i] = terminated
            done_buf[i] = terminated or truncated
            self.episode_return += float(reward)
            self.episode_length += 1
            if terminated or truncated:
                finished.append((self.episode_return, self.episode_length))
                obs = self._reset()
        self.obs = obs
        transitions = TensorDict(
            {
                "obs": torch.from_numpy(obs_buf),
                "action": torch.from_numpy(act_buf),
                "next_obs": torch.from_numpy(next_obs_buf),
                "true_reward": torch.from_numpy(reward_buf),
                "terminated": torch.from_numpy(terminated_buf),
                "done": torch.from_numpy(done_buf),
            },
            batch_size=[steps],
        )
        return transitions, finished

    def state_dict(self) -> dict:
        return {
            "kind": self.kind,
            "seed": self.seed,
            "rank": self.rank,
            "generator": self.generator.get_state(),
            "episode": self.episode,
            "obs": None if self.obs is None else self.obs.copy(),
            "episode_return": self.episode_return,
            "episode_length": self.episode_length,
            "env": None if self.obs is None else get_env_state(self.env),
        }

    def load_state_dict(self, state: dict) -> None:
        self.seed, self.rank = state["seed"], state["rank"]  # episode seeds continue the saved stream
        self.generator.set_state(state["generator"])
        self.episode = state["episode"]
        self.episode_return, self.episode_length = state["episode_return"], state["episode_length"]
        if state["obs"] is not None and state["env"] is not None:
            set_env_state(self.env, state["env"])
            self.obs = state["obs"]
        else:
            self.obs = None  # env without a snapshot: the unfinished episode restarts

    def close(self) -> None:
        self.env.close()


def make_torchrl_env(env_config: EnvConfig):
    """The same gymnasium env stack as :func:`make_env`, as a TorchRL env with float32 observations."""
    from torchrl.envs import Compose, DoubleToFloat, GymWrapper, RewardSum, StepCounter, TransformedEnv

    return TransformedEnv(GymWrapper(make_env(env_config)), Compose(DoubleToFloat(), RewardSum(), StepCounter()))


class _SampleAction(torch.nn.Module):
    def __init__(self, actor: TanhGaussianActor) -> None:
        super().__init__()
        self.actor = actor

    def forward(self, observation: torch.Tensor) -> torch.Tensor:
        return self.actor.act(observation)


class TorchRLRunner:
    """TorchRL ``Collector`` (``workers <= 1``) or ``MultiSyncCollector`` (worker processes).

    The collector acts with a CPU copy of the actor whose weights are refreshed before every batch
    (environments live on the CPU; the learner's actor may be on a GPU). It is built at the first
    :meth:`collect`, once it is known how many random warm-up frames are left: ``warmup_steps``
    minus ``frames``. ``frames`` counts this rank's env steps over the whole run; after a resume the
    module sets it from its own env-step counter (:meth:`resume_at`), whatever runner wrote the
    checkpoint, so a run resumed mid-warm-up stops acting at random when the module does.
    """

    kind = "torchrl"

    def __init__(
        self, env_config: EnvConfig, seed: int, rank: int, actor: TanhGaussianActor, steps_per_collect: int, warmup_steps: int, workers: int = 1
    ) -> None:
        self.env_config, self.seed, self.rank = env_config, seed, rank
        self.policy_actor = copy.deepcopy(actor).cpu().eval().requires_grad_(False)
        self.steps_per_collect, self.warmup_steps, self.workers = steps_per_collect, warmup_steps, workers
        self.frames = 0
        self.collector = None

    def resume_at(self, frames: int) -> None:
        """Continue a run whose rank has collected ``frames`` env steps (before the first :meth:`collect`)."""
        self.frames = frames

    def _start(self, random_frames: int) -> None:
        from tensordict.nn import TensorDictModule
        from torchrl.collectors import Collector, MultiSyncCollector

        env_fn = functools.partial(make_torchrl_env, self.env_config)
        policy = TensorDictModule(_SampleAction(self.policy_actor), in_keys=["observation"], out_keys=["action"])
        options = dict(frames_per_batch=self.steps_per_collect, total_frames=-1, init_random_frames=random_frames)
        if self.workers <= 1:
            self.collector = Collector(env_fn, policy, **options)
        else:
            self.collector = MultiSyncCollector([env_fn] * self.workers, policy, **options)
        # A resumed run (frames > 0) does not replay the first run's episode seeds.
        self.collector.set_seed(derive_seed(self.seed, self.rank, self.frames))
        self._batches = iter(self.collector)

    def collect(self, steps: int, actor: TanhGaussianActor | None) -> tuple[TensorDict, list[Episode]]:
        """``actor=None`` asks for warm-up: random actions for the frames of ``warmup_steps`` not yet collected."""
        if steps != self.steps_per_collect:
            raise ValueError(f"the TorchRL collector yields {self.steps_per_collect} steps per batch, asked for {steps}")
        if self.collector is None:
            self._start(max(self.warmup_steps - self.frames, 0) if actor is None else 0)
        if actor is not None:
            self.policy_actor.load_state_dict(actor.state_dict())  # copies in place, from any device
            if self.workers > 1:
                self.collector.update_policy_weights_()
        batch = next(self._batches).reshape(-1)
        self.frames += batch.shape[0]
        nxt = batch["next"]
        done = nxt["done"].squeeze(-1)
        transitions = TensorDict(
            {
                "obs": batch["observation"],
                "action": batch["action"],
                "next_obs": nxt["observation"],
                "true_reward": nxt["reward"].squeeze(-1),
                "terminated": nxt["terminated"].squeeze(-1),
                "done": done,
            },
            batch_size=[batch.shape[0]],
        )
        returns = nxt["episode_reward"].squeeze(-1)[done].tolist()
        lengths = nxt["step_count"].squeeze(-1)[done].tolist()
        return transitions, list(zip(returns, lengths))

    def state_dict(self) -> dict:
        return {"kind": self.kind, "frames": self.frames}

    def load_state_dict(self, state: dict) -> None:
        self.frames = int(state.get("frames", 0))

    def close(self) -> None:
        if self.collector is not None:
            self.collector.shutdown()


def make_runner(
    kind: CollectorKind, env_config: EnvConfig, seed: int, rank: int, actor: TanhGaussianActor, steps_per_collect: int, warmup_steps: int, workers: int
) -> EnvRunner | TorchRLRunner:
    if kind == "fast":
        return EnvRunner(env_config, seed, rank)
    if kind in ("torchrl", "torchrl_multi"):
        return TorchRLRunner(env_config, seed, rank, actor, steps_per_collect, warmup_steps, workers if kind == "torchrl_multi" else 1)
    raise ValueError(f"collector must be one of {COLLECTORS}, got {kind!r}")
