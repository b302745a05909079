"""Off-policy learners: collection into a replay buffer, random warm-up, one relabel-and-update loop.

SAC, ML-IRL (and later GAIL, AIRL, SQIL, f-IRL, AIHF, MOPO) differ in *which reward* a replayed
batch is trained on, not in how: :meth:`OffPolicyLearner.update_policy` samples, computes the
reward with the function it is given (the env's, a frozen or a learned reward) and makes the
policy step's update.
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from tensordict import TensorDictBase

from lit_irl.algos.learner import TrainingConfig
from lit_irl.algos.online import CollectionConfig, OnlineLearner
from lit_irl.data import TransitionReplay
from lit_irl.envs import EnvConfig
from lit_irl.errors import LitIRLError, check_positive

RewardFn = Callable[[TensorDictBase], torch.Tensor]
# (reward_fn's rewards of a batch, the current actor's log pi(a|s) at its actions) -> the rewards SAC trains on
LogProbTerm = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
# Replayed rows relabelled in one pass. Measured (AIRL's g and h, 2 x 256 ReLU, bf16, 1 thread): 5000 rows in passes
# of 100 took 17.9 ms, of 1000-2500 rows 7.0-7.1 ms, of 5000 rows 10.6 ms (activations out of cache); float32 23.8 /
# 19.7-20.2 / 27.1 ms.
RELABEL_ROWS = 2048


@dataclass
class OffPolicyConfig:
    """Replay and the update schedule of an off-policy learner (per DDP rank).

    Attributes:
        buffer_size: replay capacity in transitions.
        warmup_steps: env steps with uniformly random actions before the first update.
        utd_ratio: policy updates per env step (update-to-data ratio); fractions such as 0.5 are
            allowed when ``utd_ratio`` x the env steps of a collection batch is a whole number.
        resume_refill_steps: after a resume from a checkpoint without a replay buffer (a light or
            compact one), updates wait until the buffer again holds this many transitions of the
            current policy (at least ``warmup_steps``, at most ``buffer_size``); the env steps count.
            Updating a trained critic on the first few hundred transitions made such resumes fall
            (a DisabledAnt run: return 250 -> 15, 200k env steps to climb back; results/history.md),
            while resumes with 50k replay rows did not.
    """

    buffer_size: int = 1_000_000
    warmup_steps: int = 5_000
    utd_ratio: float = 1
    resume_refill_steps: int = 25_000

    def __post_init__(self) -> None:
        check_positive(buffer_size=self.buffer_size, utd_ratio=self.utd_ratio)
        if self.warmup_steps < 0:
            raise LitIRLError(f"warmup_steps must be >= 0, got {self.warmup_steps}")
        if self.resume_refill_steps < 0:
            raise LitIRLError(f"resume_refill_steps must be >= 0 (0: resume updates after warmup_steps), got {self.resume_refill_steps}")
        if self.warmup_steps > self.buffer_size:
            # The replay never holds more than buffer_size transitions, so updates would never start.
            raise LitIRLError(f"warmup_steps ({self.warmup_steps}) exceeds buffer_size ({self.buffer_size}); lower warmup_steps or raise buffer_size")


class OffPolicyLearner(OnlineLearner):
    """Base of off-policy learners; its ``policy`` is a policy step with ``update(batch, reward,
    optimizers, step)`` and an ``updates`` counter buffer (:class:`lit_irl.policy.SACPolicy`)."""

    policy: torch.nn.Module
    warmup_with_actor = False  # warm-up steps act with the (given) actor rather than uniformly at random

    def __init__(self, env: EnvConfig, training: TrainingConfig, collection: CollectionConfig, off_policy: OffPolicyConfig) -> None:
        super().__init__(env, training, collection, warmup_steps=off_policy.warmup_steps)
        self.off_policy_config = off_policy
        updates = off_policy.utd_ratio * self.env_steps_per_batch
        if abs(updates - round(updates)) > 1e-9:
            raise LitIRLError(
                f"off_policy.utd_ratio {off_policy.utd_ratio} x {self.env_steps_per_batch} env steps per collection batch is "
                f"{updates:g} updates, not a whole number; choose utd_ratio or collection.env_steps_per_batch so that it is"
            )
        self.updates_per_batch = round(updates)
        self.replay: TransitionReplay | None = None
        self.replay_needed = max(off_policy.warmup_steps, 1)  # transitions in the buffer before updates (raised by a bare resume)
        self.relabel_seconds = 0.0  # time spent computing rewards of replayed batches
        self._updates_at_last_log = 0

    def setup(self, stage: str) -> None:
        super().setup(stage)
        if stage == "fit" and self.replay is None:
            self.replay = TransitionReplay(self.off_policy_config.buffer_size, hide_true_reward=not self.uses_env_reward)

    # ------------------------------------------------------------ the loop
    def collect_batch(self) -> TensorDictBase:
        """One collection batch into the replay buffer; uniformly random actions during warm-up.
        Returns the new transitions, flat."""
        warming_up = self.progress // self.world_size < self.warmup_steps
        with self.timed("env_steps"):
            transitions, _ = self.collect(None if warming_up and not self.warmup_with_actor else self.actor)
            transitions = transitions.reshape(-1)
            self.replay.extend(transitions)
        return transitions

    @property
    def learning_started(self) -> bool:
        # On the buffer, not on env steps: after a resume from a checkpoint without collection
        # state the buffer first refills (with the current policy) before updates continue.
        return len(self.replay) >= self.replay_needed

    @property
    def refilling_after_resume(self) -> bool:
        return self.replay_needed > max(self.warmup_steps, 1) and not self.learning_started

    def update_policy(
        self, reward_fn: RewardFn, optimizers: list, updates: int | None = None, sample: Callable[[int], TensorDictBase] | None = None,
        log_prob_term: LogProbTerm | None = None,
    ) -> dict[str, torch.Tensor]:
        """``updates`` policy updates (default: ``utd_ratio`` per env step of a collection batch),
        each on a replayed batch (or ``sample(batch_size)``'s, e.g. SQIL's expert / agent mix)
        relabelled by ``reward_fn`` (no gradient flows into it), and, with ``log_prob_term``, by
        ``log_prob_term(reward_fn(batch), log pi(a|s))`` of the actor as it is at that update
        (AIRL's ``f - log pi``; the policy step computes ``log pi`` in its own actor pass).

        ``reward_fn`` must not change while these updates run (every learner changes its reward
        between calls): the batches of several updates are then drawn and relabelled together, in
        passes of up to :data:`RELABEL_ROWS` rows.
        """
        stats: dict[str, torch.Tensor] = {}
        if not self.learning_started:
            return stats
        if updates is None:
            updates = self.updates_per_batch
        batch_size = self.policy.config.batch_size
        per_pass = max(1, RELABEL_ROWS // batch_size)
        sampling = relabelling = updating = 0.0
        for first in range(0, updates, per_pass):
            count = min(per_pass, updates - first)
            started = time.perf_counter()
            if sample is not None:
                batches = torch.cat([sample(batch_size) for _ in range(count)])
            else:
                batches = self.replay.sample(count * batch_size, include_true_reward=self.uses_env_reward)
            batches = batches.to(self.device)
            sampled = time.perf_counter()
            with torch.no_grad():
                rewards = reward_fn(batches)
            relabelled = time.perf_counter()
            for batch, reward in zip(batches.split(batch_size), rewards.split(batch_size), strict=True):
                if log_prob_term is not None:
                    reward = functools.partial(log_prob_term, reward)
                stats = self.policy.update(batch, reward, optimizers, self.optimizer_step)
            sampling, relabelling, updating = sampling + sampled - started, relabelling + relabelled - sampled, updating + time.perf_counter() - relabelled
        self.relabel_seconds += relabelling
        for part, seconds in (("replay_sampling", sampling), ("relabel", relabelling), ("sac_updates", updating)):
            self._part_seconds[part] = self._part_seconds.get(part, 0.0) + seconds
        return stats

    # ------------------------------------------------------------ reporting
    @property
    def updates(self) -> int:
        return int(self.policy.updates)

    def extra_metrics(self, elapsed: float) -> dict[str, float]:
        metrics = super().extra_metrics(elapsed)
        metrics["perf/updates_per_s"] = (self.updates - self._updates_at_last_log) * self.world_size / elapsed
        metrics["counters/updates"] = self.updates
        self._updates_at_last_log = self.updates
        return metrics

    def on_train_start(self) -> None:
        super().on_train_start()
        self._updates_at_last_log = self.updates

    # ------------------------------------------------------------ run state
    def run_state(self) -> dict[str, Any]:
        return {**super().run_state(), "replay": self.replay.state_dict()}

    def load_run_state(self, state: dict[str, Any]) -> None:
        super().load_run_state(state)
        self.replay.load_state_dict(state["replay"])
        if "recent_of" in state["replay"]:
            warnings.warn(
                f"the checkpoint's replay buffer holds the {len(self.replay):,} most recent of {state['replay']['recent_of']:,} "
                "transitions (a carried checkpoint, tools/compact_checkpoint.py --replay-rows): the run continues from them, "
                "not bit-identically"
            )

    def warn_no_run_state(self) -> None:
        config = self.off_policy_config
        self.replay_needed = min(config.buffer_size, max(config.warmup_steps, config.resume_refill_steps, 1))
        warnings.warn(
            "the checkpoint holds no collection state (replay buffer, env, RNG): networks, optimizers and counters "
            f"resume; the replay buffer refills with the current policy for {self.replay_needed} steps before updates continue "
            "(off_policy.resume_refill_steps)"
        )
