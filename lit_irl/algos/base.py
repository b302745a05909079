"""What every online algorithm shares: collection, replay, counters, evaluation and exact checkpoints.

An algorithm subclasses :class:`OnlineRLModule`, builds its networks in ``__init__`` and writes
its loop in ``training_step`` (manual optimization). It never schedules on Lightning's
``global_step`` (which counts optimizer steps, all optimizers together): the counters that drive
the algorithm are :attr:`env_steps` and its own buffers, all saved in the checkpoint.

Collection happens in batches of ``env_steps_per_batch`` env steps (per rank) followed by the
updates the algorithm makes for them: SAC's ``training_step`` is one such batch, ML-IRL's is one
iteration of several. Training stops when :attr:`env_steps` (summed over DDP ranks) reaches
``total_env_steps``; ``trainer.max_steps`` is not used.
"""

from __future__ import annotations

import itertools
import os
import random
import time
import warnings
from collections import deque
from typing import Any

import numpy as np
import torch
from lightning import LightningModule
from torch.utils.data import DataLoader, IterableDataset

from lit_irl.data import TransitionReplay, make_runner
from lit_irl.data.collect import CollectorKind, TorchRLRunner, derive_seed
from lit_irl.envs import EnvConfig, make_env, probe_env
from lit_irl.errors import LitIRLError, check_positive
from lit_irl.evaluation import eval_seed, evaluate, run_episode
from lit_irl.metrics import ReturnStats
from lit_irl.nn import TanhGaussianActor

CHECKPOINT_FORMAT = 1


class _Batches(IterableDataset):
    """An endless stream of batch indices: the data of an online algorithm comes from its env."""

    def __iter__(self):
        return itertools.count()


def _all_gather_objects(obj: Any) -> list[Any]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        gathered: list[Any] = [None] * torch.distributed.get_world_size()
        torch.distributed.all_gather_object(gathered, obj)
        return gathered
    return [obj]


class OnlineRLModule(LightningModule):
    """Base of online algorithms; see the module docstring.

    Args:
        env: environment and termination policy.
        total_env_steps: stop after this many env steps (all ranks together).
        warmup_steps: env steps with uniformly random actions before the first update (per rank).
        env_steps_per_batch: env steps per collection batch (per rank); updates follow each batch.
        buffer_size: replay capacity in transitions (per rank).
        collector: ``fast`` (in-process, exact resume), ``torchrl`` or ``torchrl_multi``.
        collector_workers: worker processes of ``torchrl_multi``.
        eval_episodes: deterministic episodes per evaluation and in ``validate`` / ``test``.
        log_every_env_steps: write training scalars every this many env steps.
        seed: network initialisation (identical on every rank) and, combined with the rank,
            collection and update noise.
    """

    actor: TanhGaussianActor  # every online algorithm has one; evaluation runs it
    policy: torch.nn.Module  # its policy step, with an ``updates`` counter buffer

    def __init__(
        self,
        env: EnvConfig,
        total_env_steps: int,
        warmup_steps: int,
        env_steps_per_batch: int,
        buffer_size: int,
        collector: CollectorKind,
        collector_workers: int,
        eval_episodes: int,
        log_every_env_steps: int,
        seed: int,
    ) -> None:
        super().__init__()
        check_positive(
            total_env_steps=total_env_steps,
            env_steps_per_batch=env_steps_per_batch,
            buffer_size=buffer_size,
            collector_workers=collector_workers,
            eval_episodes=eval_episodes,
            log_every_env_steps=log_every_env_steps,
        )
        if warmup_steps < 0:
            raise LitIRLError(f"warmup_steps must be >= 0, got {warmup_steps}")
        if warmup_steps > buffer_size:
            # The replay never holds more than buffer_size transitions, so updates would never start.
            raise LitIRLError(f"warmup_steps ({warmup_steps}) exceeds buffer_size ({buffer_size}); lower warmup_steps or raise buffer_size")
        if seed < 0:
            raise LitIRLError(f"seed must be >= 0, got {seed}")
        self.automatic_optimization = False
        self.env_config = env
        self.env_spec = probe_env(env)
        self.total_env_steps = total_env_steps
        self.warmup_steps = warmup_steps
        self.env_steps_per_batch = env_steps_per_batch
        self.buffer_size = buffer_size
        self.collector = collector
        self.collector_workers = collector_workers
        self.eval_episodes = eval_episodes
        self.log_every_env_steps = log_every_env_steps
        self.seed = seed
        # Counters that drive the algorithm live in the state dict, hence in every checkpoint.
        self.register_buffer("env_steps", torch.zeros((), dtype=torch.long))
        self.save_collection_state = True  # EnvStepCheckpoint turns it off for light kept checkpoints
        # Same initial networks on every rank (DDP also broadcasts rank 0's, this makes it moot).
        torch.manual_seed(seed)

        self.eval_returns = ReturnStats()
        self.last_eval_return: float | None = None
        self.recent_episode_returns: deque[float] = deque(maxlen=20)
        self.runner = None
        self.replay: TransitionReplay | None = None
        self._eval_env = None
        self._pending_rng: dict | None = None
        self._meter = (time.perf_counter(), 0, 0)  # (time, env steps, updates) at last log
        self.throughput: float | None = None  # env steps/s over the last logging period
        self._env_steps_at_batch_start = 0

    # ------------------------------------------------------------------ setup
    def setup(self, stage: str) -> None:
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        if "OMP_NUM_THREADS" not in os.environ:
            # One intra-op thread unless OMP_NUM_THREADS says otherwise. Measured on 2 cores (SAC
            # update, (256, 256), batch 256): 2 threads are 1.4x faster on an idle machine but 35x
            # slower while one other busy process shares the cores (OpenMP threads wait on each
            # other); the safe default costs little, the other one can cost everything.
            torch.set_num_threads(1)
        if stage != "fit" or self.runner is not None:
            return
        rank = self.global_rank
        # The learner's random stream (replay sampling, update noise) differs per rank.
        learner_seed = derive_seed(self.seed, rank, 1)
        torch.manual_seed(learner_seed)
        np.random.seed(learner_seed)
        random.seed(learner_seed)
        self.runner = make_runner(
            self.collector,
            self.env_config,
            self.seed,
            rank,
            self.actor,
            self.env_steps_per_batch,
            self.warmup_steps,
            self.collector_workers,
        )
        self.replay = TransitionReplay(self.buffer_size, hide_true_reward=self.env_config.hide_reward)

    def teardown(self, stage: str) -> None:
        if self.runner is not None:
            self.runner.close()
            self.runner = None

    def train_dataloader(self) -> DataLoader:
        return DataLoader(_Batches(), batch_size=None)

    def val_dataloader(self) -> DataLoader:
        # During fit, evaluation is the Evaluation callback's (scheduled on env steps, logged against
        # them); Lightning's end-of-epoch validation would only repeat it.
        fitting = self._trainer is not None and self.trainer.state.fn == "fit"
        return DataLoader([] if fitting else list(range(self.eval_episodes)), batch_size=None)

    def test_dataloader(self) -> DataLoader:
        return self.val_dataloader()

    # ------------------------------------------------------------- collection
    @property
    def world_size(self) -> int:
        return self.trainer.world_size if self._trainer is not None else 1

    def collect(self) -> list[tuple[float, int]]:
        """One batch of env steps into the replay buffer; random actions during warm-up."""
        local_steps = int(self.env_steps) // self.world_size
        actor = None if local_steps < self.warmup_steps else self.actor
        transitions, episodes = self.runner.collect(self.env_steps_per_batch, actor)
        self.replay.extend(transitions)
        self.env_steps += transitions.shape[0] * self.world_size
        self.recent_episode_returns.extend(ret for ret, _ in episodes)
        return episodes

    @property
    def updates(self) -> int:
        return int(self.policy.updates)

    @property
    def learning_started(self) -> bool:
        # On the buffer, not on env steps: after a resume from a checkpoint without collection
        # state the buffer first refills (with the current policy) before updates continue.
        return len(self.replay) >= max(self.warmup_steps, 1)

    def stop_when_done(self) -> None:
        if int(self.env_steps) >= self.total_env_steps:
            self.trainer.should_stop = True

    # ---------------------------------------------------------------- logging
    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        self._env_steps_at_batch_start = int(self.env_steps)

    def batch_crossed(self, every: int) -> bool:
        """Whether the env steps of the current ``training_step`` (all ranks) crossed a multiple of
        ``every``: the schedule of logging, evaluation and checkpoints, in env steps."""
        return int(self.env_steps) // every > self._env_steps_at_batch_start // every

    def log_training(self, stats: dict[str, torch.Tensor]) -> None:
        """Write scalars against env steps (the x-axis of every RL curve), every ``log_every_env_steps``."""
        if not self.batch_crossed(self.log_every_env_steps) or self.trainer.logger is None:
            return
        steps = int(self.env_steps)
        now, updates = time.perf_counter(), self.updates
        last_time, last_steps, last_updates = self._meter
        elapsed = max(now - last_time, 1e-9)
        metrics = {k: float(v) for k, v in stats.items()}
        metrics["perf/env_steps_per_s"] = (steps - last_steps) / elapsed
        metrics["perf/updates_per_s"] = (updates - last_updates) * self.world_size / elapsed
        metrics["counters/env_steps"] = steps
        metrics["counters/updates"] = updates
        if self.recent_episode_returns:
            metrics["train/episode_return"] = float(np.mean(self.recent_episode_returns))
        self._meter = (now, steps, updates)
        self.throughput = metrics["perf/env_steps_per_s"]
        for logger in self.trainer.loggers:
            logger.log_metrics(metrics, step=steps)

    # ------------------------------------------------------------- evaluation
    def _evaluation_env(self):
        if self._eval_env is None:
            self._eval_env = make_env(self.env_config)
        return self._eval_env

    def run_evaluation(self) -> dict[str, float]:
        """``eval_episodes`` deterministic episodes, split over ranks; logs true-return mean/std."""
        rank, world = self.global_rank, self.world_size
        episodes = list(range(rank, self.eval_episodes, world))
        was_training = self.actor.training
        self.actor.eval()
        returns = evaluate(self._evaluation_env(), self.actor, self.seed, episodes)
        self.actor.train(was_training)
        self.eval_returns.update(torch.as_tensor(returns))
        stats = self.eval_returns.compute()
        self.eval_returns.reset()
        result = {"eval/return_mean": float(stats["mean"]), "eval/return_std": float(stats["std"])}
        self.last_eval_return = result["eval/return_mean"]
        if self.trainer.logger is not None:
            for logger in self.trainer.loggers:
                logger.log_metrics(result, step=int(self.env_steps))
        return result

    def _episode_step(self, episode: int) -> None:
        ret, length = run_episode(self._evaluation_env(), self.actor, eval_seed(self.seed, int(episode)))
        self.eval_returns.update(torch.tensor([ret]))
        self._episode_results.append((int(episode), ret, length))

    def on_validation_epoch_start(self) -> None:
        self._episode_results: list[tuple[int, float, int]] = []

    on_test_epoch_start = on_validation_epoch_start

    def validation_step(self, batch: int, batch_idx: int) -> None:
        self._episode_step(batch)

    def test_step(self, batch: int, batch_idx: int) -> None:
        self._episode_step(batch)

    def _log_episode_results(self, prefix: str) -> None:
        stats = self.eval_returns.compute()
        self.eval_returns.reset()
        self.log_dict({f"{prefix}/return_mean": stats["mean"], f"{prefix}/return_std": stats["std"]}, sync_dist=False)
        rows = [row for rank_rows in _all_gather_objects(self._episode_results) for row in rank_rows]
        if self.global_rank == 0 and prefix == "test":
            from lit_irl.reporting import print_episode_table

            print_episode_table(self.env_config.env_id, type(self).__name__, int(self.env_steps), sorted(rows))

    def on_validation_epoch_end(self) -> None:
        self._log_episode_results("val")

    def on_test_epoch_end(self) -> None:
        self._log_episode_results("test")

    # ------------------------------------------------------------ checkpoints
    def checkpoint_identity(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "algo": type(self).__name__,
            "env_id": self.env_config.env_id,
            "termination": self.env_config.termination,
            "obs_dim": self.env_spec.obs_dim,
            "act_dim": self.env_spec.act_dim,
        }

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["lit_irl"] = self.checkpoint_identity()
        if self.runner is None or not self.save_collection_state:  # outside of fit, or a light kept checkpoint
            return
        collection = {
            "rng": {
                "torch": torch.get_rng_state(),
                "numpy": np.random.get_state(),
                "python": random.getstate(),
                # update noise on a GPU comes from the CUDA generators
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None,
            },
            "runner": self.runner.state_dict(),
            "replay": self.replay.state_dict(),
            "recent_episode_returns": list(self.recent_episode_returns),
            "last_eval_return": self.last_eval_return,
        }
        # Every rank collects with its own seed, env and buffer: rank 0 writes them all.
        checkpoint["collection"] = _all_gather_objects(collection)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        found = checkpoint.get("lit_irl")
        ours = self.checkpoint_identity()
        where = f"checkpoint {self._trainer.ckpt_path}" if self._trainer is not None and self._trainer.ckpt_path else "the checkpoint"
        if found is None:
            raise LitIRLError(f"{where} was not written by lit_irl (no 'lit_irl' entry); pass a checkpoint from `lit-irl fit`")
        if found.get("format") != CHECKPOINT_FORMAT:
            raise LitIRLError(
                f"{where} has checkpoint format {found.get('format')}, this lit_irl reads format {CHECKPOINT_FORMAT}; "
                "resume it with the lit_irl version that wrote it"
            )
        if found["algo"] != ours["algo"]:
            raise LitIRLError(
                f"{where} was written by {found['algo']}, this run is {ours['algo']}; "
                f"use --model lit_irl.algos.{found['algo']} or a {ours['algo']} checkpoint"
            )
        for key in ("env_id", "obs_dim", "act_dim", "termination"):
            if found.get(key) != ours[key]:
                raise LitIRLError(
                    f"{where} is for {found['env_id']} (obs {found['obs_dim']}, act {found['act_dim']}, termination "
                    f"{found.get('termination')}), this run is for {ours['env_id']} (obs {ours['obs_dim']}, act "
                    f"{ours['act_dim']}, termination {ours['termination']}); use a checkpoint of the same env and config"
                )
        ours_shapes = {k: tuple(v.shape) for k, v in self.state_dict().items()}
        theirs = set(checkpoint.get("state_dict", {}))
        missing, unexpected = sorted(set(ours_shapes) - theirs), sorted(theirs - set(ours_shapes))
        if missing or unexpected:
            raise LitIRLError(
                f"{where} holds other networks than this config builds (missing: {', '.join(missing[:4]) or 'none'}; "
                f"not in this config: {', '.join(unexpected[:4]) or 'none'}); use the config the checkpoint was "
                "trained with (its run folder keeps it as config.yaml)"
            )
        for key, value in checkpoint.get("state_dict", {}).items():
            if key in ours_shapes and tuple(value.shape) != ours_shapes[key]:
                raise LitIRLError(
                    f"{where} has {key} of shape {tuple(value.shape)}, this config builds {ours_shapes[key]}; "
                    "use the config the checkpoint was trained with (its run folder keeps it as config.yaml)"
                )
        states = checkpoint.get("collection")
        if self.runner is None:
            return
        if states is None:
            warnings.warn(
                "the checkpoint holds no collection state (replay buffer, env, RNG): networks, optimizers and counters "
                f"resume; the replay buffer refills with the current policy for {self.warmup_steps} steps before updates continue"
            )
            return
        rank = self.global_rank
        if len(states) != self.world_size:
            warnings.warn(
                f"checkpoint was written by {len(states)} rank(s), this run has {self.world_size}: "
                "network and optimizer state resume exactly, collection restarts from fresh episodes and buffers"
            )
            return
        state = states[rank]
        saved_kind = state["runner"].get("kind", "fast" if "seed" in state["runner"] else "torchrl")  # older files: by their keys
        if saved_kind == self.runner.kind:
            self.runner.load_state_dict(state["runner"])
        else:
            warnings.warn(
                f"checkpoint was collected with the {saved_kind} collector, this run uses {self.runner.kind}: replay buffer "
                "and the learner's random streams resume; the collector's random stream and episodes restart"
            )
        self.replay.load_state_dict(state["replay"])
        self.recent_episode_returns.extend(state["recent_episode_returns"])
        self.last_eval_return = state["last_eval_return"]
        # Applied in on_train_start, after Lightning has finished its own set-up.
        self._pending_rng = state["rng"]

    def on_train_start(self) -> None:
        if self._pending_rng is not None:
            torch.set_rng_state(self._pending_rng["torch"])
            np.random.set_state(self._pending_rng["numpy"])
            random.setstate(self._pending_rng["python"])
            cuda_states = self._pending_rng.get("cuda")
            if cuda_states is not None and torch.cuda.is_available() and len(cuda_states) == torch.cuda.device_count():
                torch.cuda.set_rng_state_all(cuda_states)
            self._pending_rng = None
        if isinstance(self.runner, TorchRLRunner):
            # Also when the checkpoint's runner state was skipped (other collector, other world size).
            self.runner.resume_at(int(self.env_steps) // self.world_size)
        self._meter = (time.perf_counter(), int(self.env_steps), self.updates)
        # Lightning runs at least one batch after a resume; a finished run must not grow by one.
        self.stop_when_done()
