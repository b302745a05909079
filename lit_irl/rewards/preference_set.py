"""Preference pairs as a learner holds them: checked against the env, split into training and
held-out pairs, sampled in batches from a seeded stream, and scored by a reward (held-out accuracy).

Shared by every learner that reads preferences (the BT reward model of the RLHF pipeline, AIHF).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from tensordict import TensorDict, TensorDictBase
from torchmetrics.functional import pearson_corrcoef

from lit_irl.data.collect import derive_seed
from lit_irl.data.modules import PreferenceData
from lit_irl.envs import EnvConfig
from lit_irl.errors import LitIRLError, check_positive
from lit_irl.rewards.losses import bradley_terry_loss, discounted_returns, preferred_and_rejected


class PreferenceSet:
    """The pairs of a preference file (``lit-irl-data preferences``) for one learner.

    Args:
        path: the preference file.
        env: the learner's env (env id and dims are checked).
        held_out_fraction: share of pairs never trained on, for the held-out accuracy.
        seed: the split and the batch stream.
        per_step: compare per-step mean rewards instead of segment sums; required when the file's
            two segment sides differ in length (BT on sums would prefer the longer segment).
    """

    def __init__(self, path: str, env: EnvConfig, held_out_fraction: float = 0.1, seed: int = 0, per_step: bool = False) -> None:
        if not 0.0 <= held_out_fraction < 1.0:
            raise LitIRLError(f"held_out_fraction must be in [0, 1), got {held_out_fraction}")
        module = PreferenceData(path, env)
        module.setup()
        pairs = module.pairs
        lengths = (pairs["a"].shape[-1], pairs["b"].shape[-1])
        if lengths[0] != lengths[1] and not per_step:
            raise LitIRLError(
                f"preference file {path}: segments a have {lengths[0]} steps, segments b {lengths[1]}; a Bradley-Terry "
                "model on segment sums then prefers the longer one: rebuild the pairs with one --segment-length, or "
                "compare per-step means (per_step / preference_per_step: true)"
            )
        order = np.random.default_rng(seed).permutation(len(pairs))
        held_out = int(round(held_out_fraction * len(pairs)))
        if len(pairs) - held_out < 1:
            raise LitIRLError(f"preference file {path}: {len(pairs)} pair(s) leave none to train on with held_out_fraction {held_out_fraction}")
        self.train, self.held_out = pairs[torch.from_numpy(order[held_out:])], pairs[torch.from_numpy(order[:held_out])]
        self.path, self.seed, self.per_step, self.attrs = path, seed, per_step, module.data.attrs

    def __len__(self) -> int:
        return self.train.shape[0]

    def batch(self, size: int, *stream: int) -> TensorDict:
        """``size`` training pairs drawn with replacement from the stream ``derive_seed(seed, *stream)``
        (e.g. the rank and the step: a resumed run draws the same pairs)."""
        check_positive(preference_batch=size)
        generator = torch.Generator().manual_seed(derive_seed(self.seed, *stream))
        return self.train[torch.randint(0, len(self), (size,), generator=generator)]

    def returns(self, pairs: TensorDictBase, reward: Callable[[TensorDictBase], torch.Tensor], gamma: float) -> tuple[torch.Tensor, torch.Tensor]:
        return preferred_and_rejected(pairs, reward, gamma, self.per_step)

    @torch.no_grad()
    def metrics(self, reward: Callable[[TensorDictBase], torch.Tensor], gamma: float, temperature: float, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """On the held-out pairs: accuracy, BT loss, the learned reward per step of preferred and
        rejected segments, and the Pearson correlation of learned with true segment returns."""
        if not self.held_out.shape[0]:
            return {}
        pairs = self.held_out.to(device)
        preferred, rejected = self.returns(pairs, reward, gamma)
        loss, stats = bradley_terry_loss(preferred, rejected, temperature)
        a_wins = pairs["label"] > 0.5
        rewards_a, rewards_b = reward(pairs["a"]), reward(pairs["b"])
        step_mean_a, step_mean_b = rewards_a.mean(-1), rewards_b.mean(-1)
        learned = torch.cat([discounted_returns(rewards_a, gamma), discounted_returns(rewards_b, gamma)])
        true = torch.cat([pairs["true_return_a"], pairs["true_return_b"]])
        metrics = {
            "preference/heldout_accuracy": stats["preference/accuracy"],
            "preference/heldout_loss": loss,
            "reward/preferred_step_mean": torch.where(a_wins, step_mean_a, step_mean_b).mean(),
            "reward/rejected_step_mean": torch.where(a_wins, step_mean_b, step_mean_a).mean(),
        }
        if learned.std() > 1e-8 and true.std() > 1e-8:
            metrics["reward_recovery/pearson_segments"] = pearson_corrcoef(learned.double(), true.double()).float()
        return metrics
