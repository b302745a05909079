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
import multiprocessing
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from tensordict import TensorDict

from lit_irl.envs import EnvConfig, get_env_state, make_env, set_env_state
from lit_irl.errors import LitIRLError
from lit_irl.nn import Actor

COLLECTORS = ("fast", "torchrl", "torchrl_multi")
CollectorKind = Literal["fast", "torchrl", "torchrl_multi"]
Episode = tuple[float, int]  # (true return, length) of a finished episode


def derive_seed(*parts: int) -> int:
    """A 32-bit seed from integers (seed, rank, episode, ...), decorrelated by SeedSequence."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


class EnvRunner:
    """Steps ``num_envs`` gymnasium envs in turn, acting on all of them with one batched forward pass.

    The one env loop of lit_irl: training collection (:meth:`collect`, a continuing stream whose
    unfinished episodes carry over between calls and whose state resumes exactly), and whole
    episodes (:meth:`run_episodes`) for rollouts into datasets, the agent trajectories of IRL and
    evaluation, all go through :meth:`_reset` / :meth:`_step`.

    Episode ``k`` (counted per runner) starts from ``env.reset(seed=episode_seed(k))``; by default
    ``derive_seed(seed, rank, k)``. Actions of unbounded actors (PPO's Gaussian) are clipped to the
    action box for the env; the learner keeps the sampled action.
    """

    kind = "fast"  # which runner wrote a saved state

    def __init__(
        self,
        env_config: EnvConfig,
        seed: int,
        rank: int = 0,
        num_envs: int = 1,
        episode_seed: Callable[[int], int] | None = None,
    ) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        self.envs = [make_env(env_config) for _ in range(num_envs)]
        self.num_envs = num_envs
        self.seed, self.rank = seed, rank
        self.episode_seed = episode_seed or (lambda k: derive_seed(self.seed, self.rank, k))
        self.generator = torch.Generator().manual_seed(derive_seed(seed, rank, 2**31 - 1))
        space = self.envs[0].action_space
        self.action_low = torch.as_tensor(space.low, dtype=torch.float32)
        self.action_range = torch.as_tensor(space.high - space.low, dtype=torch.float32)
        self._low, self._high = space.low.astype(np.float32), space.high.astype(np.float32)
        self.obs_dim = int(np.prod(self.envs[0].observation_space.shape))
        self.act_dim = int(np.prod(space.shape))
        self.episode = 0  # index of the next episode to start
        self.obs: list[np.ndarray | None] = [None] * num_envs
        self.slot_episode = [-1] * num_envs
        self.episode_return = [0.0] * num_envs
        self.episode_length = [0] * num_envs

    # ---- the loop's two moves ----
    def _reset(self, slot: int) -> None:
        k = self.episode
        self.obs[slot], _ = self.envs[slot].reset(seed=self.episode_seed(k))
        self.slot_episode[slot] = k
        self.episode += 1
        self.episode_return[slot], self.episode_length[slot] = 0.0, 0

    def _step(self, slot: int, action: np.ndarray, clip: bool) -> tuple[np.ndarray, float, bool, bool]:
        """One env step of ``slot``; its bookkeeping (not the reset: the caller decides)."""
        executed = np.clip(action, self._low, self._high) if clip else action
        next_obs, reward, terminated, truncated, _ = self.envs[slot].step(executed)
        self.episode_return[slot] += float(reward)
        self.episode_length[slot] += 1
        return next_obs, float(reward), bool(terminated), bool(truncated)

    def _actions(
        self, actor: Actor | None, obs: np.ndarray, deterministic: bool = False, noise: torch.Tensor | None = None, device: torch.device | None = None
    ) -> np.ndarray:
        """Actions for a ``(N, obs)`` batch; ``actor=None`` draws them uniformly from the box (warm-up)."""
        if actor is None:
            return (self.action_low + self.action_range * torch.rand((obs.shape[0], self.act_dim), generator=self.generator)).numpy()
        device = device or actor.action_scale.device
        obs_t = torch.from_numpy(obs)
        if device.type != "cpu":  # the noise stays on the CPU generator: the same on any device
            if noise is None and not deterministic:
                noise = torch.randn((obs.shape[0], self.act_dim), generator=self.generator)
            return actor.act(obs_t.to(device), deterministic=deterministic, noise=noise).cpu().numpy()
        return actor.act(obs_t, deterministic=deterministic, generator=self.generator, noise=noise).numpy()

    # ---- training collection ----
    def collect(self, steps: int, actor: Actor | None) -> tuple[TensorDict, list[Episode]]:
        """``steps`` transitions per env, as a TensorDict of shape ``(steps, num_envs)``; episodes
        that end restart at once. ``actor=None`` draws actions uniformly from the action box (warm-up).

        The hot path of every online learner: the step of :meth:`_step` is written out here, with
        locals instead of attribute lookups (measured in ``tools/bench_throughput.py``)."""
        n = self.num_envs
        obs_buf = np.empty((steps, n, self.obs_dim), dtype=np.float32)
        next_obs_buf = np.empty((steps, n, self.obs_dim), dtype=np.float32)
        act_buf = np.empty((steps, n, self.act_dim), dtype=np.float32)
        reward_buf = np.empty((steps, n), dtype=np.float32)
        terminated_buf = np.empty((steps, n), dtype=bool)
        done_buf = np.empty((steps, n), dtype=bool)
        finished: list[Episode] = []
        for slot in range(n):
            if self.obs[slot] is None:
                self._reset(slot)
        clip = actor is not None and not actor.bounded
        device = None if actor is None else actor.action_scale.device
        envs, current, returns, lengths, low, high, slots = self.envs, self.obs, self.episode_return, self.episode_length, self._low, self._high, range(n)
        for t in range(steps):
            for slot in slots:
                obs_buf[t, slot] = current[slot]
            actions = self._actions(actor, obs_buf[t], device=device)
            act_buf[t] = actions
            for slot in slots:
                next_obs, reward, terminated, truncated, _ = envs[slot].step(np.clip(actions[slot], low, high) if clip else actions[slot])
                next_obs_buf[t, slot] = next_obs
                reward_buf[t, slot] = reward
                terminated_buf[t, slot] = terminated
                done_buf[t, slot] = ended = terminated or truncated
                returns[slot] += float(reward)
                lengths[slot] += 1
                if ended:
                    finished.append((returns[slot], lengths[slot]))
                    self._reset(slot)
                else:
                    current[slot] = next_obs
        transitions = TensorDict(
            {
                "obs": torch.from_numpy(obs_buf),
                "action": torch.from_numpy(act_buf),
                "next_obs": torch.from_numpy(next_obs_buf),
                "true_reward": torch.from_numpy(reward_buf),
                "terminated": torch.from_numpy(terminated_buf),
                "done": torch.from_numpy(done_buf),
            },
            batch_size=[steps, n],
        )
        return transitions, finished

    # ---- whole episodes ----
    def run_episodes(
        self,
        actor: Actor | None,
        episodes: int | None = None,
        max_rows: int | None = None,
        deterministic: bool = False,
        noise_seed: Callable[[int], int] | None = None,
        record: bool = True,
        past_termination: bool = False,
        record_physics: bool = False,
    ) -> list[EpisodeRows]:
        """Episodes ``0, 1, ...`` of this runner from their reset, ``num_envs`` at a time.

        With ``episodes``: exactly that many, run to their end. With ``max_rows``: episodes start
        until that many transitions are recorded; unfinished ones are returned too (``finished``
        false). ``noise_seed(k)`` gives episode ``k`` its own noise stream (the data are then the
        same whatever ``num_envs``); otherwise noise comes from the runner's generator.
        ``past_termination``: a termination (a fall) does not end the episode, the physics run on
        to the time limit and no row is marked terminal. ``record=False`` keeps returns and lengths only.
        """
        if (episodes is None) == (max_rows is None):
            raise ValueError("give exactly one of episodes or max_rows")
        n = self.num_envs
        generators = [torch.Generator() for _ in range(n)] if noise_seed is not None else None
        results: dict[int, EpisodeRows] = {}
        active = [False] * n
        rows_total = 0

        def start(slot: int) -> None:
            self._reset(slot)
            k = self.slot_episode[slot]
            results[k] = EpisodeRows(k)
            if generators is not None:
                generators[slot].manual_seed(noise_seed(k))
            active[slot] = True

        def may_start() -> bool:
            return self.episode < episodes if episodes is not None else rows_total < max_rows

        for slot in range(n):
            if may_start():
                start(slot)
        physics = record and record_physics and hasattr(self.envs[0].unwrapped, "data")
        clip = actor is not None and not actor.bounded
        while any(active):
            slots = [s for s in range(n) if active[s]]
            obs = np.zeros((n, self.obs_dim), dtype=np.float32)  # finished slots act on zeros, unused
            for s in slots:
                obs[s] = self.obs[s]
            noise = None
            if generators is not None and not deterministic and actor is not None:
                noise = torch.stack([torch.randn(self.act_dim, generator=g) for g in generators])
            if actor is None and generators is not None:
                actions = (self.action_low + self.action_range * torch.stack([torch.rand(self.act_dim, generator=g) for g in generators])).numpy()
            else:
                actions = self._actions(actor, obs, deterministic, noise)
            for slot in slots:
                episode = results[self.slot_episode[slot]]
                if physics:
                    data = self.envs[slot].unwrapped.data
                    episode.qpos.append(data.qpos.copy())
                    episode.qvel.append(data.qvel.copy())
                next_obs, reward, terminated, truncated = self._step(slot, actions[slot], clip)
                terminated = terminated and not past_termination
                if record:
                    executed = np.clip(actions[slot], self._low, self._high) if clip else actions[slot]
                    episode.rows.append((self.obs[slot], executed, reward, terminated, truncated, next_obs))
                rows_total += 1
                if terminated or truncated:
                    episode.finished = True
                    episode.episode_return, episode.length = self.episode_return[slot], self.episode_length[slot]
                    active[slot] = False
                    self.obs[slot] = None
                    if may_start():
                        start(slot)
                else:
                    self.obs[slot] = next_obs
            if max_rows is not None and rows_total >= max_rows:
                break
        for slot in range(n):
            if active[slot]:
                episode = results[self.slot_episode[slot]]
                episode.episode_return, episode.length = self.episode_return[slot], self.episode_length[slot]
                self.obs[slot] = None
        return [results[k] for k in sorted(results)]

    # ---- exact resume ----
    def state_dict(self) -> dict:
        return {
            "kind": self.kind,
            "seed": self.seed,
            "rank": self.rank,
            "generator": self.generator.get_state(),
            "episode": self.episode,
            "num_envs": self.num_envs,
            "obs": [None if o is None else o.copy() for o in self.obs],
            "slot_episode": list(self.slot_episode),
            "episode_return": list(self.episode_return),
            "episode_length": list(self.episode_length),
            "env": [None if o is None else get_env_state(env) for o, env in zip(self.obs, self.envs)],
        }

    def load_state_dict(self, state: dict) -> None:
        if not isinstance(state["obs"], list):  # written by the single-env runner of lit_irl <= 0.1
            state = {**state, "obs": [state["obs"]], "env": [state["env"]], "slot_episode": [state["episode"] - 1],
                     "episode_return": [state["episode_return"]], "episode_length": [state["episode_length"]], "num_envs": 1}
        if state["num_envs"] != self.num_envs:
            raise LitIRLError(
                f"the checkpoint collected with {state['num_envs']} envs per rank, this config has {self.num_envs}; "
                f"resume with num_envs {state['num_envs']} (the run folder's config.yaml has it)"
            )
        self.seed, self.rank = state["seed"], state["rank"]  # episode seeds continue the saved stream
        self.generator.set_state(state["generator"])
        self.episode = state["episode"]
        self.slot_episode = list(state["slot_episode"])
        self.episode_return, self.episode_length = list(state["episode_return"]), list(state["episode_length"])
        for slot, (obs, env_state) in enumerate(zip(state["obs"], state["env"])):
            if obs is not None and env_state is not None:
                set_env_state(self.envs[slot], env_state)
                self.obs[slot] = obs
            else:
                self.obs[slot] = None  # env without a snapshot: the unfinished episode restarts

    def close(self) -> None:
        for env in self.envs:
            env.close()


@dataclass
class EpisodeRows:
    """One episode of :meth:`EnvRunner.run_episodes`: its rows ``(obs, action, reward, terminated,
    truncated, next_obs)`` (when recorded), physics per row (``qpos``/``qvel``), return and length."""

    index: int
    rows: list[tuple] = field(default_factory=list)
    qpos: list[np.ndarray] = field(default_factory=list)
    qvel: list[np.ndarray] = field(default_factory=list)
    finished: bool = False
    episode_return: float = 0.0
    length: int = 0


def make_torchrl_env(env_config: EnvConfig):
    """The same gymnasium env stack as :func:`make_env`, as a TorchRL env with float32 observations.

    In a collector worker process it also ignores SIGTERM: a scheduler that signals the whole
    process group would otherwise kill the workers under the learner, whose own SIGTERM handling
    (finish the batch, save, shut the collector down) needs them to answer until shutdown.
    """
    from torchrl.envs import Compose, DoubleToFloat, GymWrapper, RewardSum, StepCounter, TransformedEnv

    if multiprocessing.parent_process() is not None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    return TransformedEnv(GymWrapper(make_env(env_config)), Compose(DoubleToFloat(), RewardSum(), StepCounter()))


class _SampleAction(torch.nn.Module):
    def __init__(self, actor: Actor) -> None:
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
        self, env_config: EnvConfig, seed: int, rank: int, actor: Actor, steps_per_collect: int, warmup_steps: int, workers: int = 1
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

    def collect(self, steps: int, actor: Actor | None) -> tuple[TensorDict, list[Episode]]:
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
        ).unsqueeze(-1)  # (steps, 1): the layout of EnvRunner.collect
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
    kind: CollectorKind,
    env_config: EnvConfig,
    seed: int,
    rank: int,
    actor: Actor,
    steps_per_collect: int,
    warmup_steps: int,
    workers: int,
    num_envs: int = 1,
) -> EnvRunner | TorchRLRunner:
    if kind == "fast":
        return EnvRunner(env_config, seed, rank, num_envs)
    if kind in ("torchrl", "torchrl_multi"):
        return TorchRLRunner(env_config, seed, rank, actor, steps_per_collect, warmup_steps, workers if kind == "torchrl_multi" else 1)
    raise ValueError(f"collector must be one of {COLLECTORS}, got {kind!r}")
