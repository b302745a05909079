"""Sequence-level learners on the synthetic language (LightningModules, ``lit-irl fit --model lit_irl.sequence.<Name>``).

Every learner holds the world, a policy (:class:`~lit_irl.sequence.model.TinyTransformer`) and a frozen
reference (the policy it started from), and is evaluated by :meth:`SequenceLearner.report` on held-out
prompts: the gold reward of its responses, ``KL(pi_E || pi_theta)`` (on expert responses, the SFT
objective's gap) and ``KL(pi_theta || pi_E)`` (on its own), the win rate against the expert under the
gold reward (ties 1/2) and the KL to its reference, each a Monte-Carlo mean with its standard error.
Progress is gradient steps.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from lit_irl.algos.learner import ReportEvaluation, TrainingConfig
from lit_irl.algos.offline import OfflineLearner
from lit_irl.data.collect import derive_seed
from lit_irl.errors import LitIRLError, check_positive
from lit_irl.sequence.model import TinyTransformer, TransformerConfig, frozen_copy, language_model_loss
from lit_irl.sequence.world import SyntheticWorld, WorldConfig


class SequenceLearner(ReportEvaluation, OfflineLearner):
    """The shared parts (see the module docstring).

    Args:
        world: the synthetic language (its seed fixes its tables).
        model: the transformer's sizes (``vocab`` and a ``context`` of at least prompt + response).
        init_from: a sequence learner's checkpoint whose policy this one starts from (and keeps, frozen,
            as its reference); ``None``: a fresh transformer.
        lr: Adam step size of the policy.
        batch_size: sequences per gradient step.
        eval_prompts: held-out prompts of every report.
        training: budget (gradient steps), logging, seed.
    """

    report_title = "on held-out prompts"

    def __init__(
        self,
        world: WorldConfig = WorldConfig(),  # never mutated
        model: TransformerConfig = TransformerConfig(),  # never mutated
        init_from: str | None = None,
        lr: float = 1e-3,
        batch_size: int = 64,
        eval_prompts: int = 1000,
        training: TrainingConfig = TrainingConfig(total_steps=2_000, log_every=100),
    ) -> None:
        super().__init__(None, training)
        check_positive(lr=lr, batch_size=batch_size, eval_prompts=eval_prompts)
        if model.vocab != world.vocab:
            raise LitIRLError(f"model.vocab ({model.vocab}) must equal world.vocab ({world.vocab})")
        if model.context < world.prompt_length + world.horizon:
            raise LitIRLError(f"model.context ({model.context}) must hold a prompt and a response ({world.prompt_length} + {world.horizon} tokens)")
        self.world = SyntheticWorld(world)
        self.policy = TinyTransformer(model)
        if init_from is not None:
            self.policy.load_state_dict(load_sequence_policy(init_from, model))
        self.reference = frozen_copy(self.policy)
        self.lr, self.batch_size = lr, batch_size
        self.eval_set = self.world.sample_prompts(eval_prompts, torch.Generator().manual_seed(derive_seed(training.seed, 99)))

    def configure_optimizers(self):
        return torch.optim.Adam(self.policy.parameters(), lr=self.lr)

    def generator(self, *stream: int) -> torch.Generator:
        """A seeded stream for sampling (rank and step in ``stream``): a resumed run samples the same data."""
        return torch.Generator().manual_seed(derive_seed(self.seed, self.global_rank, *stream))

    # -------------------------------------------------------------- evaluation
    @torch.no_grad()
    def report(self) -> dict[str, float]:
        world, prompts = self.world, self.eval_set
        generator = torch.Generator().manual_seed(derive_seed(self.seed, 98))  # the same evaluation draws every time
        ours = self.policy.sample(prompts, world.config.horizon, generator)
        expert = world.sample_responses(prompts, generator)
        log_ours = self.policy.sequence_log_prob(prompts, ours).double()
        gold_ours, gold_expert = world.gold_reward(prompts, ours), world.gold_reward(prompts, expert)
        values = {
            "gold_reward": gold_ours,
            "kl_expert_to_policy": world.log_prob(prompts, expert) - self.policy.sequence_log_prob(prompts, expert).double(),
            "kl_policy_to_expert": log_ours - world.log_prob(prompts, ours),
            "win_rate_vs_expert": (gold_ours > gold_expert).double() + 0.5 * (gold_ours == gold_expert).double(),
            "kl_to_reference": log_ours - self.reference.sequence_log_prob(prompts, ours).double(),
        }
        report = {}
        for name, samples in values.items():
            report[name] = float(samples.mean())
            report[f"{name}_se"] = float(samples.std() / math.sqrt(len(samples)))
        report["expert_gold_reward"] = float(gold_expert.mean())
        return report

    def checkpoint_identity(self) -> dict[str, Any]:
        return {**super().checkpoint_identity(), "sequence_world": dict(vars(self.world.config))}


def load_sequence_policy(path: str | Path, model: TransformerConfig) -> dict[str, torch.Tensor]:
    """The policy weights of a sequence learner's checkpoint, checked against ``model``."""
    from lit_irl.checkpoint_io import load_checkpoint_file

    state = load_checkpoint_file(path)
    identity = state.get("lit_irl", {}) if isinstance(state, dict) else {}
    weights = {k[len("policy.") :]: v for k, v in state.get("state_dict", {}).items() if k.startswith("policy.")}
    if "sequence_world" not in identity or not weights:
        raise LitIRLError(f"{path} is not a sequence learner's checkpoint (Pretrain, SFT, ...); pass its runs/<run>/checkpoints/last.ckpt")
    expected = TinyTransformer(model).state_dict()
    if {k: tuple(v.shape) for k, v in weights.items()} != {k: tuple(v.shape) for k, v in expected.items()}:
        raise LitIRLError(f"the policy of {path} has other sizes than this config's model ({model}); use the model config it was trained with")
    return weights


class Pretrain(SequenceLearner):
    """The base language model: next-token cross-entropy on every token of prompts and responses of
    ``pi_0`` (fresh samples each step). The reference policy of every other learner starts here."""

    def training_step(self, batch: int, batch_idx: int) -> None:
        optimizer, steps = self.optimizers(), self.gradient_steps_this_batch()
        for step in range(self.progress, self.progress + steps):
            generator = self.generator(step)
            prompts = self.world.sample_prompts(self.batch_size, generator)
            sequences = torch.cat([prompts, self.world.sample_responses(prompts, generator, "base")], -1).to(self.device)
            loss = language_model_loss(self.policy, sequences)
            self.optimizer_step(loss, optimizer, name="loss/lm")
        self.end_step({"loss/lm": loss.detach()}, steps)


class SFT(SequenceLearner):
    """Supervised fine-tuning: next-token cross-entropy on the response tokens of ``num_demonstrations``
    expert demonstrations (drawn once from the expert with the run's seed), minibatches drawn with
    replacement.

    Args (beyond :class:`SequenceLearner`'s): ``num_demonstrations``.
    """

    def __init__(
        self,
        world: WorldConfig = WorldConfig(),  # never mutated
        model: TransformerConfig = TransformerConfig(),  # never mutated
        init_from: str | None = None,
        num_demonstrations: int = 1000,
        lr: float = 1e-3,
        batch_size: int = 64,
        eval_prompts: int = 1000,
        training: TrainingConfig = TrainingConfig(total_steps=2_000, log_every=100),
    ) -> None:
        super().__init__(world, model, init_from, lr, batch_size, eval_prompts, training)
        check_positive(num_demonstrations=num_demonstrations)
        generator = torch.Generator().manual_seed(derive_seed(training.seed, 97))
        prompts = self.world.sample_prompts(num_demonstrations, generator)
        self.demonstrations = torch.cat([prompts, self.world.sample_responses(prompts, generator)], -1)

    def training_step(self, batch: int, batch_idx: int) -> None:
        optimizer, steps = self.optimizers(), self.gradient_steps_this_batch()
        for _ in range(steps):
            sequences = self.sample({"tokens": self.demonstrations}, self.batch_size)["tokens"]
            loss = language_model_loss(self.policy, sequences, prompt_length=self.world.config.prompt_length)
            self.optimizer_step(loss, optimizer, name="loss/sft")
        self.end_step({"loss/sft": loss.detach()}, steps)
