"""Sequence-level learners on the synthetic language (LightningModules, ``lit-irl fit --model lit_irl.sequence.<Name>``).

Every learner holds the world, a policy (:class:`~lit_irl.sequence.model.TinyTransformer`) and a frozen
reference (the policy it started from), and is evaluated by :meth:`SequenceLearner.report` on held-out
prompts: the gold reward of its responses, ``KL(pi_E || pi_theta)`` (on expert responses, the SFT
objective's gap) and ``KL(pi_theta || pi_E)`` (on its own), the win rate against the expert under the
gold reward (ties 1/2) and the KL to its reference, each a Monte-Carlo mean with its standard error.
Progress is gradient steps.
"""

from __future__ import annotations

import copy
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


def rloo_loss(log_probs: torch.Tensor, rewards: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """REINFORCE with the leave-one-out baseline (RLOO, Ahmadian et al. 2024) over ``k`` samples per prompt:
    ``log_probs`` and ``rewards`` ``(n, k)``; advantage ``r_i - mean_{j != i} r_j``; loss ``-mean A log pi``."""
    k = rewards.shape[-1]
    if k < 2:
        raise LitIRLError("RLOO needs at least 2 samples per prompt")
    advantages = rewards - (rewards.sum(-1, keepdim=True) - rewards) / (k - 1)
    return -(advantages.detach() * log_probs).mean(), advantages


class IRL(SequenceLearner):
    """IRL from demonstrations (thesis Alg. 12, paper 001): a sequence reward learned from demonstrations
    alone (chosen = the demonstration, rejected = the current policy's response to the same prompt),
    alternated with policy steps that maximize it under a KL penalty.

    Per iteration (``policy_steps`` + ``reward_steps`` gradient steps):

    1. policy alignment: ``policy_steps`` RLOO steps on ``rloo_samples`` responses per prompt, rewarded
       ``r_phi(x, y) - beta [log pi(y|x) - log pi_ref(y|x)]`` (the sequence-level KL to the reference:
       the fixed start policy, or with ``kl_reference: previous_iterate`` the policy at the start of the
       iteration);
    2. reward alignment: fresh responses of the current policy (at ``rejected_temperature``) to the
       demonstrations' prompts, then ``reward_steps`` steps on ``reward_loss`` (``linear``: the exact
       likelihood direction, Lemma 17; ``logsigmoid``: paper eq. 11), over this iteration's pairs or,
       with ``accumulate_pairs``, every iteration's; with ``reward_init: refit`` the reward restarts
       from its initial weights each iteration (the authors' code).

    Presets (``preset``, overriding those five keys): ``irl_exact`` (linear, warm, fixed reference, no
    accumulation: ML-IRL) and ``irl_paper`` (log-sigmoid, refit, previous iterate, accumulated pairs).
    Read literally (refit with a fixed reference) Alg. 12 has no fixed point (card sequence.md §1.5).

    The reward model is a separate transformer initialised from the policy's start (a copy of SFT),
    its sequence reward read at the last response token (``reward_head: last``) or summed over response
    tokens (``additive``).
    """

    PRESETS = {
        "irl_exact": {"reward_loss": "linear", "reward_init": "warm", "kl_reference": "fixed", "accumulate_pairs": False},
        "irl_paper": {"reward_loss": "logsigmoid", "reward_init": "refit", "kl_reference": "previous_iterate", "accumulate_pairs": True},
    }

    def __init__(
        self,
        world: WorldConfig = WorldConfig(),  # never mutated
        model: TransformerConfig = TransformerConfig(),  # never mutated
        init_from: str | None = None,
        num_demonstrations: int = 1000,
        preset: str | None = "irl_exact",
        reward_loss: str = "linear",
        reward_init: str = "warm",
        kl_reference: str = "fixed",
        accumulate_pairs: bool = False,
        rejected_temperature: float = 1.0,
        reward_head: str = "last",
        beta: float = 0.1,
        policy_steps: int = 20,
        reward_steps: int = 5,
        rloo_samples: int = 4,
        reward_lr: float = 1e-4,
        lr: float = 1e-4,
        batch_size: int = 64,
        eval_prompts: int = 1000,
        training: TrainingConfig = TrainingConfig(total_steps=2_500, log_every=100),
    ) -> None:
        super().__init__(world, model, init_from, lr, batch_size, eval_prompts, training)
        if preset is not None:
            if preset not in self.PRESETS:
                raise LitIRLError(f"preset must be one of {', '.join(self.PRESETS)} or null, got {preset!r}")
            reward_loss, reward_init, kl_reference, accumulate_pairs = (self.PRESETS[preset][k] for k in ("reward_loss", "reward_init", "kl_reference", "accumulate_pairs"))
        for name, value, allowed in (("reward_loss", reward_loss, ("linear", "logsigmoid")), ("reward_init", reward_init, ("warm", "refit")),
                                     ("kl_reference", kl_reference, ("fixed", "previous_iterate")), ("reward_head", reward_head, ("last", "additive"))):  # fmt: skip
            if value not in allowed:
                raise LitIRLError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        check_positive(num_demonstrations=num_demonstrations, rejected_temperature=rejected_temperature, beta=beta, policy_steps=policy_steps,
                       reward_steps=reward_steps, reward_lr=reward_lr)  # fmt: skip
        if rloo_samples < 2:
            raise LitIRLError(f"rloo_samples must be >= 2 (the leave-one-out baseline), got {rloo_samples}")
        self.save_hyperparameters()
        self.reward_loss_form, self.reward_init, self.kl_reference, self.accumulate_pairs = reward_loss, reward_init, kl_reference, accumulate_pairs
        self.rejected_temperature, self.reward_head, self.beta = rejected_temperature, reward_head, beta
        self.policy_steps, self.reward_steps, self.rloo_samples, self.reward_lr = policy_steps, reward_steps, rloo_samples, reward_lr
        self.reward = copy.deepcopy(self.policy)  # a separate parameter set, from the policy's start
        self.initial_reward = frozen_copy(self.reward)
        generator = torch.Generator().manual_seed(derive_seed(training.seed, 97))
        prompts = self.world.sample_prompts(num_demonstrations, generator)
        self.demo_prompts, self.demo_responses = prompts, self.world.sample_responses(prompts, generator)
        self.pairs: list[torch.Tensor] = []  # rejected responses per iteration, aligned with the demonstrations
        self.register_buffer("iterations", torch.zeros((), dtype=torch.long))

    def configure_optimizers(self):
        return [torch.optim.Adam(self.policy.parameters(), lr=self.lr), torch.optim.Adam(self.reward.parameters(), lr=self.reward_lr)]

    def sequence_reward(self, prompts: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
        return self.reward.sequence_reward(prompts, responses, self.reward_head)

    def policy_step(self, step: int, optimizer) -> dict[str, torch.Tensor]:
        generator = self.generator(step, 1)
        prompts = self.world.sample_prompts(self.batch_size, generator).repeat_interleave(self.rloo_samples, 0)
        responses = self.policy.sample(prompts, self.world.config.horizon, generator)
        log_probs = self.policy.sequence_log_prob(prompts, responses)
        with torch.no_grad():
            kl = log_probs.detach() - self.reference.sequence_log_prob(prompts, responses)
            rewards = self.sequence_reward(prompts, responses) - self.beta * kl
        loss, _ = rloo_loss(log_probs.view(-1, self.rloo_samples), rewards.view(-1, self.rloo_samples))
        self.optimizer_step(loss, optimizer, name="loss/policy")
        return {"policy/reward": rewards.mean(), "policy/kl_to_reference": kl.mean()}

    def new_pairs(self) -> None:
        """Step 2's data: the current policy's responses to the demonstrations' prompts."""
        generator = self.generator(int(self.iterations), 2)
        rejected = self.policy.sample(self.demo_prompts, self.world.config.horizon, generator, self.rejected_temperature)
        self.pairs = [*self.pairs, rejected] if self.accumulate_pairs else [rejected]

    def reward_step(self, optimizer) -> dict[str, torch.Tensor]:
        loss, stats = self.reward_loss()
        self.optimizer_step(loss, optimizer, name="loss/reward")
        return stats

    def reward_loss(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Demonstrations (chosen) against the policy's responses to their prompts (rejected)."""
        from lit_irl.sequence.losses import irl_reward_loss

        rejected_sets = torch.stack(self.pairs)  # (iterations kept, N, H)
        which = torch.randint(0, rejected_sets.shape[0], (self.batch_size,))
        rows = torch.randint(0, self.demo_prompts.shape[0], (self.batch_size,))
        prompts, chosen, rejected = self.demo_prompts[rows], self.demo_responses[rows], rejected_sets[which, rows]
        chosen_reward, rejected_reward = self.sequence_reward(prompts, chosen), self.sequence_reward(prompts, rejected)
        loss = irl_reward_loss(chosen_reward, rejected_reward, self.reward_loss_form)
        return loss, {"reward/loss": loss.detach(), "reward/margin": (chosen_reward - rejected_reward).mean().detach()}

    def training_step(self, batch: int, batch_idx: int) -> None:
        policy_optimizer, reward_optimizer = self.optimizers()
        steps = self.gradient_steps_this_batch()
        stats: dict[str, torch.Tensor] = {}
        period = self.policy_steps + self.reward_steps
        for step in range(self.progress, self.progress + steps):
            phase = step % period
            if phase == 0 and self.kl_reference == "previous_iterate":
                self.reference.load_state_dict(self.policy.state_dict())
            if phase < self.policy_steps:
                # 1. Policy alignment: RLOO under r_phi - beta KL(pi || pi_ref).
                stats.update(self.policy_step(step, policy_optimizer))
                continue
            if phase == self.policy_steps:
                # 2. Reward alignment: demonstrations against the current policy's responses.
                self.new_pairs()
                if self.reward_init == "refit":
                    self.reward.load_state_dict(self.initial_reward.state_dict())
                    getattr(reward_optimizer, "optimizer", reward_optimizer).state.clear()  # a fresh Adam too
            stats.update(self.reward_step(reward_optimizer))
            if phase == period - 1:
                self.iterations += 1
        self.end_step({**stats, "counters/iterations": self.iterations}, steps)

    def run_state(self) -> dict[str, Any]:
        return {**super().run_state(), "pairs": [p.clone() for p in self.pairs]}

    def load_run_state(self, state: dict[str, Any]) -> None:
        super().load_run_state(state)
        self.pairs = list(state["pairs"])


def bradley_terry_pairs(
    world: SyntheticWorld, policy: TinyTransformer, n: int, label_temperature: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` preference pairs: prompts, two responses of ``policy`` each, labelled by a Bradley-Terry draw
    on the gold reward, ``P(a > b) = sigmoid((r*(a) - r*(b)) / label_temperature)``: (prompts, preferred, rejected)."""
    prompts = world.sample_prompts(n, generator)
    a = policy.sample(prompts, world.config.horizon, generator)
    b = policy.sample(prompts, world.config.horizon, generator)
    p_a = torch.sigmoid((world.gold_reward(prompts, a) - world.gold_reward(prompts, b)) / label_temperature)
    a_wins = (torch.rand(n, generator=generator, dtype=torch.float64) < p_a)[:, None]
    return prompts, torch.where(a_wins, a, b), torch.where(a_wins, b, a)


class DPO(SequenceLearner):
    """DPO (Rafailov et al. 2023) on preference pairs of the synthetic language: ``num_pairs`` prompts,
    two responses of the reference policy each (the start policy, ``init_from``), labelled by a
    Bradley-Terry draw on the gold reward, ``P(a > b) = sigmoid((r*(a) - r*(b)) / label_temperature)``;
    then :func:`~lit_irl.sequence.losses.dpo_loss` against the frozen reference. Coverage matters: DPO
    may put mass where the pairs never go (thesis Table 4.1).

    Args (beyond :class:`SequenceLearner`'s): ``num_pairs``, ``label_temperature``, ``beta``.
    """

    def __init__(
        self,
        world: WorldConfig = WorldConfig(),  # never mutated
        model: TransformerConfig = TransformerConfig(),  # never mutated
        init_from: str | None = None,
        num_pairs: int = 1000,
        label_temperature: float = 1.0,
        beta: float = 0.1,
        lr: float = 1e-4,
        batch_size: int = 64,
        eval_prompts: int = 1000,
        training: TrainingConfig = TrainingConfig(total_steps=2_000, log_every=100),
    ) -> None:
        super().__init__(world, model, init_from, lr, batch_size, eval_prompts, training)
        check_positive(num_pairs=num_pairs, label_temperature=label_temperature, beta=beta)
        self.beta = beta
        generator = torch.Generator().manual_seed(derive_seed(training.seed, 96))
        self.pair_prompts, self.preferred, self.rejected = bradley_terry_pairs(self.world, self.reference, num_pairs, label_temperature, generator)

    def training_step(self, batch: int, batch_idx: int) -> None:
        from lit_irl.sequence.losses import dpo_loss

        optimizer, steps = self.optimizers(), self.gradient_steps_this_batch()
        for _ in range(steps):
            rows = torch.randint(0, self.pair_prompts.shape[0], (self.batch_size,))
            prompts, preferred, rejected = self.pair_prompts[rows], self.preferred[rows], self.rejected[rows]
            with torch.no_grad():
                ref_w, ref_l = self.reference.sequence_log_prob(prompts, preferred), self.reference.sequence_log_prob(prompts, rejected)
            loss = dpo_loss(self.policy.sequence_log_prob(prompts, preferred), self.policy.sequence_log_prob(prompts, rejected), ref_w, ref_l, self.beta)
            self.optimizer_step(loss, optimizer, name="loss/dpo")
        self.end_step({"loss/dpo": loss.detach()}, steps)


class SPIN(SequenceLearner):
    """SPIN (Chen et al. 2024): self-play fine-tuning on demonstrations. Each iteration the current
    policy answers the demonstrations' prompts; the reference becomes the current policy (the
    previous iterate) and ``steps_per_iteration`` steps of
    :func:`~lit_irl.sequence.losses.spin_loss` prefer the demonstration to the policy's own answer.

    Args (beyond :class:`SequenceLearner`'s): ``num_demonstrations``, ``beta``, ``steps_per_iteration``.
    """

    def __init__(
        self,
        world: WorldConfig = WorldConfig(),  # never mutated
        model: TransformerConfig = TransformerConfig(),  # never mutated
        init_from: str | None = None,
        num_demonstrations: int = 1000,
        beta: float = 0.1,
        steps_per_iteration: int = 200,
        lr: float = 1e-4,
        batch_size: int = 64,
        eval_prompts: int = 1000,
        training: TrainingConfig = TrainingConfig(total_steps=2_000, log_every=100),
    ) -> None:
        super().__init__(world, model, init_from, lr, batch_size, eval_prompts, training)
        check_positive(num_demonstrations=num_demonstrations, beta=beta, steps_per_iteration=steps_per_iteration)
        self.beta, self.steps_per_iteration = beta, steps_per_iteration
        generator = torch.Generator().manual_seed(derive_seed(training.seed, 97))
        prompts = self.world.sample_prompts(num_demonstrations, generator)
        self.demo_prompts, self.demo_responses = prompts, self.world.sample_responses(prompts, generator)
        self.generated: torch.Tensor | None = None

    def training_step(self, batch: int, batch_idx: int) -> None:
        from lit_irl.sequence.losses import spin_loss

        optimizer, steps = self.optimizers(), self.gradient_steps_this_batch()
        for step in range(self.progress, self.progress + steps):
            if step % self.steps_per_iteration == 0 or self.generated is None:
                # A new iteration: the previous iterate is the reference and answers the prompts.
                self.reference.load_state_dict(self.policy.state_dict())
                iteration = step // self.steps_per_iteration
                self.generated = self.reference.sample(self.demo_prompts, self.world.config.horizon, self.generator(iteration, 3))
            rows = torch.randint(0, self.demo_prompts.shape[0], (self.batch_size,))
            prompts, demos, generated = self.demo_prompts[rows], self.demo_responses[rows], self.generated[rows]
            with torch.no_grad():
                ref_demo, ref_generated = self.reference.sequence_log_prob(prompts, demos), self.reference.sequence_log_prob(prompts, generated)
            loss = spin_loss(self.policy.sequence_log_prob(prompts, demos), self.policy.sequence_log_prob(prompts, generated), ref_demo, ref_generated, self.beta)
            self.optimizer_step(loss, optimizer, name="loss/spin")
        self.end_step({"loss/spin": loss.detach()}, steps)

    def run_state(self) -> dict[str, Any]:
        return {**super().run_state(), "generated": self.generated}

    def load_run_state(self, state: dict[str, Any]) -> None:
        super().load_run_state(state)
        self.generated = state["generated"]


class AIHF(IRL):
    """AIHF on sequences: :class:`IRL`'s loop with a reward step that also reads ``num_pairs`` preference
    pairs (drawn as :class:`DPO`'s): ``w1 x`` the demonstration loss plus the Bradley-Terry loss
    ``-mean log sigmoid(r(y_w) - r(y_l))`` (means in both terms, as the MuJoCo AIHF). ``w1 = 0`` learns
    the reward from the preferences alone (the RLHF reward, alternated with the policy).

    Args (beyond :class:`IRL`'s): ``num_pairs``, ``label_temperature``, ``w1``.
    """

    def __init__(
        self,
        world: WorldConfig = WorldConfig(),  # never mutated
        model: TransformerConfig = TransformerConfig(),  # never mutated
        init_from: str | None = None,
        num_demonstrations: int = 1000,
        num_pairs: int = 1000,
        label_temperature: float = 1.0,
        w1: float = 1.0,
        preset: str | None = "irl_exact",
        reward_loss: str = "linear",
        reward_init: str = "warm",
        kl_reference: str = "fixed",
        accumulate_pairs: bool = False,
        rejected_temperature: float = 1.0,
        reward_head: str = "last",
        beta: float = 0.1,
        policy_steps: int = 20,
        reward_steps: int = 5,
        rloo_samples: int = 4,
        reward_lr: float = 1e-4,
        lr: float = 1e-4,
        batch_size: int = 64,
        eval_prompts: int = 1000,
        training: TrainingConfig = TrainingConfig(total_steps=2_500, log_every=100),
    ) -> None:
        super().__init__(world, model, init_from, num_demonstrations, preset, reward_loss, reward_init, kl_reference, accumulate_pairs,
                         rejected_temperature, reward_head, beta, policy_steps, reward_steps, rloo_samples, reward_lr, lr, batch_size,
                         eval_prompts, training)  # fmt: skip
        check_positive(num_pairs=num_pairs, label_temperature=label_temperature)
        if w1 < 0:
            raise LitIRLError(f"w1 must be >= 0, got {w1}")
        self.save_hyperparameters()
        self.w1 = w1
        generator = torch.Generator().manual_seed(derive_seed(training.seed, 96))
        self.pair_prompts, self.preferred, self.rejected = bradley_terry_pairs(self.world, self.reference, num_pairs, label_temperature, generator)

    def reward_loss(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        from lit_irl.sequence.losses import irl_reward_loss

        rows = torch.randint(0, self.pair_prompts.shape[0], (self.batch_size,))
        prompts = self.pair_prompts[rows]
        preferred, rejected = self.sequence_reward(prompts, self.preferred[rows]), self.sequence_reward(prompts, self.rejected[rows])
        loss = irl_reward_loss(preferred, rejected, "logsigmoid")
        stats = {"preference/loss": loss.detach(), "preference/accuracy": (preferred > rejected).float().mean()}
        if self.w1 > 0:
            demonstration_loss, demonstration_stats = super().reward_loss()
            loss = loss + self.w1 * demonstration_loss
            stats.update(demonstration_stats)
        return loss, {**stats, "reward/loss": loss.detach()}
