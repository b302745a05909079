"""Sequence-level learners on the synthetic language (LightningModules, ``lit-irl fit --model lit_irl.sequence.<Name>``).

Every learner holds the world, a policy (:class:`~lit_irl.sequence.model.TinyTransformer`) and a frozen
reference (the policy it started from), and is evaluated by :meth:`SequenceLearner.report` on held-out
prompts: the gold reward of its responses, ``KL(pi_E || pi_theta)`` (on expert responses, the SFT
objective's gap) and ``KL(pi_theta || pi_E)`` (on its own), the win rate against the expert under the
gold reward (ties 1/2) and the KL to its reference, each a Monte-Carlo mean with its standard error;
a learner with a reward (learned, or DPO's implicit ``beta log pi / pi_ref``) adds its accuracy on
held-out pairs of the start policy's responses labelled by the gold reward, and its correlation with it.
Progress is gradient steps.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any, Callable

import torch

from lit_irl.algos.learner import ReportEvaluation, TrainingConfig
from lit_irl.algos.offline import OfflineLearner
from lit_irl.data.collect import derive_seed
from lit_irl.errors import LitIRLError, check_positive
from lit_irl.sequence.demonstrations import expert_demonstrations
from lit_irl.sequence.model import CausalPolicy, TransformerConfig, build_model, frozen_copy, language_model_loss, reward_copy
from lit_irl.sequence.policy_steps import PolicyUpdate, PPOConfig, SequenceReward
from lit_irl.sequence.world import SyntheticWorld, WorldConfig


class SequenceLearner(ReportEvaluation, OfflineLearner):
    """The shared parts (see the module docstring).

    Args:
        world: the synthetic language (its seed fixes its tables).
        model: the transformer's sizes (``vocab`` and a ``context`` of at least prompt + response), or with
            ``model.hf`` a Hugging Face causal LM (:class:`~lit_irl.sequence.hf.HFModelConfig`).
        init_from: a sequence learner's checkpoint whose policy this one starts from (and keeps, frozen,
            as its reference); ``None``: a fresh transformer.
        lr: Adam step size of the policy.
        batch_size: sequences per gradient step.
        eval_prompts: held-out prompts of every report.
        training: budget (gradient steps), logging, seed.
    """

    report_title = "on held-out prompts"
    learns_reward = False  # whether learned_reward() is one (the report's reward metrics)

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
        self.save_hyperparameters()  # every subclass's arguments (Lightning collects the __init__ chain)
        check_positive(lr=lr, batch_size=batch_size, eval_prompts=eval_prompts)
        if model.vocab != world.vocab:
            raise LitIRLError(f"model.vocab ({model.vocab}) must equal world.vocab ({world.vocab})")
        if model.context < world.prompt_length + world.horizon:
            raise LitIRLError(f"model.context ({model.context}) must hold a prompt and a response ({world.prompt_length} + {world.horizon} tokens)")
        self.world = SyntheticWorld(world)
        self.policy = build_model(model)
        if init_from is not None:
            self.policy.load_state_dict(load_sequence_policy(init_from, self.policy))
        self.reference = frozen_copy(self.policy)
        self.lr, self.batch_size = lr, batch_size
        self.eval_set = self.world.sample_prompts(eval_prompts, torch.Generator().manual_seed(derive_seed(training.seed, 99)))
        # Held-out pairs for the reward metrics: two responses of the start policy per prompt.
        pair_generator = torch.Generator().manual_seed(derive_seed(training.seed, 95))
        self.eval_pairs = tuple(self.reference.sample(self.eval_set, world.horizon, pair_generator) for _ in range(2)) if self.learns_reward else ()

    def configure_optimizers(self):
        return torch.optim.Adam(self.policy.parameters(), lr=self.lr)

    def generator(self, *stream: int) -> torch.Generator:
        """A seeded stream for sampling (rank and step in ``stream``): a resumed run samples the same data."""
        return torch.Generator().manual_seed(derive_seed(self.seed, self.global_rank, *stream))

    # -------------------------------------------------------------- evaluation
    @torch.no_grad()
    def report(self) -> dict[str, float]:
        generator = torch.Generator().manual_seed(derive_seed(self.seed, 98))  # the same evaluation draws every time
        horizon = self.world.config.horizon
        report = policy_report(self.world, self.eval_set, lambda p: self.policy.sample(p, horizon, generator), self.policy.sequence_log_prob,
                               generator, self.reference.sequence_log_prob)  # fmt: skip
        reward = self.learned_reward()
        if reward is not None:
            report.update(self.reward_metrics(reward))
        return report

    def learned_reward(self) -> SequenceReward | None:
        """The reward this learner learns, for the report's reward metrics (``None``: it learns none)."""
        return None

    @torch.no_grad()
    def reward_metrics(self, reward: SequenceReward) -> dict[str, float]:
        """``reward_pair_accuracy`` on the held-out pairs (labels: the gold reward; its standard error) and the
        Pearson correlation ``reward_gold_correlation`` of ``reward`` with the gold reward on their responses."""
        prompts, (a, b) = self.eval_set, self.eval_pairs
        gold_a, gold_b = self.world.gold_reward(prompts, a), self.world.gold_reward(prompts, b)
        ours_a, ours_b = reward(prompts, a).double().cpu(), reward(prompts, b).double().cpu()
        decided = gold_a != gold_b
        correct = torch.where(ours_a == ours_b, 0.5, ((ours_a > ours_b) == (gold_a > gold_b)).double())[decided]  # a tie: a coin flip
        both = torch.stack([torch.cat([ours_a, ours_b]), torch.cat([gold_a, gold_b])])
        return {"reward_pair_accuracy": float(correct.mean()), "reward_pair_accuracy_se": float(correct.std() / math.sqrt(max(len(correct), 1))),
                "reward_gold_correlation": float(torch.corrcoef(both)[0, 1].nan_to_num(0.0))}  # fmt: skip  # a constant reward: 0

    def checkpoint_identity(self) -> dict[str, Any]:
        return {**super().checkpoint_identity(), "sequence_world": dict(vars(self.world.config))}


LogProb = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (prompts, responses) -> log pi(y | x), (n,)


@torch.no_grad()
def policy_report(
    world: SyntheticWorld, prompts: torch.Tensor, sample: Callable[[torch.Tensor], torch.Tensor], log_prob: LogProb, generator: torch.Generator,
    reference_log_prob: LogProb | None = None,
) -> dict[str, float]:
    """A policy's metrics on ``prompts`` (see the module docstring), each with its Monte-Carlo standard error
    (``<name>_se``): its responses are ``sample(prompts)``, the expert's are drawn with ``generator``."""
    ours = sample(prompts)
    expert = world.sample_responses(prompts, generator)
    log_ours = log_prob(prompts, ours).double()
    gold_ours, gold_expert = world.gold_reward(prompts, ours), world.gold_reward(prompts, expert)
    values = {
        "gold_reward": gold_ours,
        "kl_expert_to_policy": world.log_prob(prompts, expert) - log_prob(prompts, expert).double(),
        "kl_policy_to_expert": log_ours - world.log_prob(prompts, ours),
        "win_rate_vs_expert": (gold_ours > gold_expert).double() + 0.5 * (gold_ours == gold_expert).double(),
    }
    if reference_log_prob is not None:
        values["kl_to_reference"] = log_ours - reference_log_prob(prompts, ours).double()
    report = {}
    for name, samples in values.items():
        report[name] = float(samples.mean())
        report[f"{name}_se"] = float(samples.std() / math.sqrt(len(samples)))
    report["expert_gold_reward"] = float(gold_expert.mean())
    return report


def load_sequence_policy(path: str | Path, policy: CausalPolicy) -> dict[str, torch.Tensor]:
    """The policy weights of a sequence learner's checkpoint, checked against ``policy``'s sizes."""
    from lit_irl.checkpoint_io import load_checkpoint_file

    state = load_checkpoint_file(path)
    identity = state.get("lit_irl", {}) if isinstance(state, dict) else {}
    weights = {k[len("policy.") :]: v for k, v in state.get("state_dict", {}).items() if k.startswith("policy.")}
    if "sequence_world" not in identity or not weights:
        raise LitIRLError(f"{path} is not a sequence learner's checkpoint (Pretrain, SFT, ...); pass its runs/<run>/checkpoints/last.ckpt")
    if {k: tuple(v.shape) for k, v in weights.items()} != {k: tuple(v.shape) for k, v in policy.state_dict().items()}:
        raise LitIRLError(f"the policy of {path} has other sizes than this config's model; use the model config it was trained with")
    return weights


class HeldOutStopping:
    """Early stopping on held-out data of the learner's own kind (card sequence.md §4.2 c: tuned on the
    training data alone, never on the gold reward): every ``check_every`` steps ``held_out_loss()`` is
    measured and the weights of ``stopped_module()`` at the best check are kept; training stops after
    ``patience`` checks without improvement, or at the budget, with those weights. The state is part of
    the run state: a resumed run continues (or stays stopped) exactly."""

    check_every: int
    patience: int
    best: dict[str, Any]

    def init_stopping(self, check_every: int, patience: int, count: int, validation_fraction: float, what: str) -> int:
        """Checks the settings; returns how many of the ``count`` ``what`` (demonstrations, pairs) are held out."""
        check_positive(check_every=check_every, patience=patience)
        if not 0 <= validation_fraction < 1:
            raise LitIRLError(f"validation_fraction must lie in [0, 1), got {validation_fraction}")
        held_out = math.ceil(validation_fraction * count) if validation_fraction > 0 else 0
        if held_out and held_out >= count:
            raise LitIRLError(f"{count} {what} are too few to hold out {validation_fraction:.0%}; use more or validation_fraction: 0")
        self.check_every, self.patience, self.stopping = check_every, patience, held_out > 0
        self.best = {"loss": math.inf, "step": 0, "weights": None, "bad_checks": 0}
        return held_out

    def train_with_stopping(self, gradient_step: Callable[[], dict[str, torch.Tensor]], prefix: str) -> None:
        """A ``training_step`` body: ``gradient_step()`` (one step, its stats) until the batch's steps are done
        or a check ends the run."""
        if self.stopped_early:  # resumed after it stopped: it stays stopped
            self.trainer.should_stop = True
            return
        done = 0
        for step in range(self.progress + 1, self.progress + self.gradient_steps_this_batch() + 1):
            stats = gradient_step()
            done += 1
            if self.check_after(step):
                break
        self.end_step({**stats, **self.stopping_stats(prefix)}, done)
        if self.stopped_early:
            self.trainer.should_stop = True

    def held_out_loss(self) -> float:
        raise NotImplementedError

    def stopped_module(self) -> torch.nn.Module:
        raise NotImplementedError

    @property
    def stopped_early(self) -> bool:
        return self.stopping and self.best["bad_checks"] >= self.patience

    def check_after(self, step: int) -> bool:
        """After gradient step ``step``: a check if one is due; whether the run ends here (the best weights restored)."""
        if not self.stopping or (step % self.check_every and step != self.total_steps):
            return False
        loss = self.held_out_loss()
        module = self.stopped_module()
        if loss < self.best["loss"]:
            self.best.update(loss=loss, step=step, weights={k: v.clone() for k, v in module.state_dict().items()}, bad_checks=0)
        else:
            self.best["bad_checks"] += 1
        if self.stopped_early or step == self.total_steps:
            module.load_state_dict(self.best["weights"])
            return True
        return False

    def stopping_stats(self, prefix: str) -> dict[str, torch.Tensor]:
        if not self.stopping:
            return {}
        return {f"{prefix}/heldout_loss": torch.tensor(self.held_out_loss()), f"{prefix}/best_step": torch.tensor(float(self.best["step"]))}

    def run_state(self) -> dict[str, Any]:
        return {**super().run_state(), "best": self.best}  # type: ignore[misc]

    def load_run_state(self, state: dict[str, Any]) -> None:
        super().load_run_state(state)  # type: ignore[misc]
        self.best = state["best"]


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


class SFT(HeldOutStopping, SequenceLearner):
    """Supervised fine-tuning: next-token cross-entropy on the response tokens of ``num_demonstrations``
    expert demonstrations (drawn once from the expert with the run's seed, or read from the
    ``demonstrations`` file), minibatches drawn with replacement.

    Tuned as fairly as the learners it is compared with and on the demonstrations alone (card
    sequence.md §4.2 c): ``validation_fraction`` of the demonstrations are held out, their per-token
    negative log-likelihood is measured every ``check_every`` steps, the weights of the best check are
    kept, and training stops after ``patience`` checks without improvement (or at the budget) with
    those weights. ``validation_fraction: 0`` trains on every demonstration for the whole budget.

    Args (beyond :class:`SequenceLearner`'s): ``num_demonstrations``, ``demonstrations``,
    ``validation_fraction``, ``check_every``, ``patience``.
    """

    def __init__(
        self,
        world: WorldConfig = WorldConfig(),  # never mutated
        model: TransformerConfig = TransformerConfig(),  # never mutated
        init_from: str | None = None,
        num_demonstrations: int = 1000,
        demonstrations: str | None = None,
        validation_fraction: float = 0.1,
        check_every: int = 50,
        patience: int = 5,
        lr: float = 1e-3,
        batch_size: int = 64,
        eval_prompts: int = 1000,
        training: TrainingConfig = TrainingConfig(total_steps=2_000, log_every=100),
    ) -> None:
        super().__init__(world, model, init_from, lr, batch_size, eval_prompts, training)
        check_positive(num_demonstrations=num_demonstrations)
        prompts, responses = expert_demonstrations(self.world, num_demonstrations, training.seed, demonstrations)
        held_out = self.init_stopping(check_every, patience, len(prompts), validation_fraction, "demonstrations")
        sequences = torch.cat([prompts, responses], -1)
        self.demonstrations, self.validation = sequences[held_out:], sequences[:held_out]

    @torch.no_grad()
    def held_out_loss(self) -> float:
        """Per-token negative log-likelihood of the held-out demonstrations."""
        return float(language_model_loss(self.policy, self.validation.to(self.device), prompt_length=self.world.config.prompt_length))

    def stopped_module(self) -> torch.nn.Module:
        return self.policy

    def training_step(self, batch: int, batch_idx: int) -> None:
        optimizer = self.optimizers()

        def gradient_step() -> dict[str, torch.Tensor]:
            sequences = self.sample({"tokens": self.demonstrations}, self.batch_size)["tokens"]
            loss = language_model_loss(self.policy, sequences, prompt_length=self.world.config.prompt_length)
            self.optimizer_step(loss, optimizer, name="loss/sft")
            return {"loss/sft": loss.detach()}

        self.train_with_stopping(gradient_step, "sft")


class IRL(SequenceLearner):
    """IRL from demonstrations (thesis Alg. 12, paper 001): a sequence reward learned from demonstrations
    alone (chosen = the demonstration, rejected = the current policy's response to the same prompt),
    alternated with policy steps that maximize it under a KL penalty.

    Per iteration (``policy_steps`` + ``reward_steps`` gradient steps):

    1. policy alignment: ``policy_steps`` gradient steps of ``policy_update`` on ``r_phi`` with the KL
       penalty ``beta`` to the reference (the fixed start policy, or with ``kl_reference:
       previous_iterate`` the policy at the start of the iteration): ``rloo`` (``rloo_samples`` responses
       per prompt, sequence-level KL in the reward), ``ppo`` (token-level, ``ppo``'s keys, the critic a
       copy of the reward model's start) or ``best_of_n`` (``best_of`` samples per prompt); see
       :mod:`lit_irl.sequence.policy_steps`;
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
        demonstrations: str | None = None,
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
        policy_update: str = "rloo",
        rloo_samples: int = 4,
        best_of: int = 8,
        ppo: PPOConfig = PPOConfig(),  # never mutated
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
        self.policy_update = PolicyUpdate(policy_update, beta, rloo_samples, best_of, ppo)
        self.save_hyperparameters()
        self.reward_loss_form, self.reward_init, self.kl_reference, self.accumulate_pairs = reward_loss, reward_init, kl_reference, accumulate_pairs
        self.rejected_temperature, self.reward_head, self.beta = rejected_temperature, reward_head, beta
        self.policy_steps, self.reward_steps, self.reward_lr, self.critic_lr = policy_steps, reward_steps, reward_lr, ppo.critic_lr
        self.reward = reward_copy(self.policy)  # a separate parameter set from the policy's start, rewarding 0 at first
        self.initial_reward = frozen_copy(self.reward)
        # PPO's critic starts as the reward model (thesis Table 5.6); its own parameter set.
        self.critic = copy.deepcopy(self.reward) if policy_update == "ppo" else None
        self.demo_prompts, self.demo_responses = expert_demonstrations(self.world, num_demonstrations, training.seed, demonstrations)
        self.pairs: list[torch.Tensor] = []  # rejected responses per iteration, aligned with the demonstrations
        self.register_buffer("iterations", torch.zeros((), dtype=torch.long))

    def configure_optimizers(self):
        optimizers = [torch.optim.Adam(self.policy.parameters(), lr=self.lr), torch.optim.Adam(self.reward.parameters(), lr=self.reward_lr)]
        if self.critic is not None:
            optimizers.append(torch.optim.Adam(self.critic.parameters(), lr=self.critic_lr))
        return optimizers

    def sequence_reward(self, prompts: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
        return self.reward.sequence_reward(prompts, responses, self.reward_head)

    learns_reward = True

    def learned_reward(self) -> SequenceReward:
        return self.sequence_reward

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
        policy_optimizer, reward_optimizer, *critic_optimizer = self.optimizers()
        steps = self.gradient_steps_this_batch()
        stats: dict[str, torch.Tensor] = {}
        period = self.policy_steps + self.reward_steps
        for step in range(self.progress, self.progress + steps):
            phase = step % period
            if phase == 0:
                self.policy_update.restart()  # the reward has changed: no rollout scored by the old one
                if self.kl_reference == "previous_iterate":
                    self.reference.load_state_dict(self.policy.state_dict())
            if phase < self.policy_steps:
                # 1. Policy alignment: maximize r_phi - beta KL(pi || pi_ref).
                stats.update(self.policy_update.step(self, self.sequence_reward, self.generator(step, 1), [policy_optimizer, *critic_optimizer]))
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
        return {**super().run_state(), "pairs": [p.clone() for p in self.pairs], "policy_update": self.policy_update.state()}

    def load_run_state(self, state: dict[str, Any]) -> None:
        super().load_run_state(state)
        self.pairs = list(state["pairs"])
        self.policy_update.load_state(state.get("policy_update", {}))


def bradley_terry_pairs(
    world: SyntheticWorld, policy: CausalPolicy, n: int, label_temperature: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` preference pairs: prompts, two responses of ``policy`` each, labelled by a Bradley-Terry draw
    on the gold reward, ``P(a > b) = sigmoid((r*(a) - r*(b)) / label_temperature)``: (prompts, preferred, rejected)."""
    prompts = world.sample_prompts(n, generator)
    a = policy.sample(prompts, world.config.horizon, generator)
    b = policy.sample(prompts, world.config.horizon, generator)
    p_a = torch.sigmoid((world.gold_reward(prompts, a) - world.gold_reward(prompts, b)) / label_temperature)
    a_wins = (torch.rand(n, generator=generator, dtype=torch.float64) < p_a)[:, None]
    return prompts, torch.where(a_wins, a, b), torch.where(a_wins, b, a)


class DirectPreferenceLearner(SequenceLearner):
    """The learners whose reward is implicit, ``beta log pi(y|x) / pi_ref(y|x)`` (DPO, SPIN and their AIHF
    forms): the shared log-ratio loss on (preferred, rejected) responses and the implicit reward the
    report scores."""

    beta: float
    learns_reward = True

    def implicit_reward(self, prompts: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.beta * (self.policy.sequence_log_prob(prompts, responses) - self.reference.sequence_log_prob(prompts, responses))

    def learned_reward(self) -> SequenceReward:
        return self.implicit_reward

    def log_ratio_loss(self, prompts: torch.Tensor, preferred: torch.Tensor, rejected: torch.Tensor) -> torch.Tensor:
        """:func:`~lit_irl.sequence.losses.preference_log_ratio_loss` against ``self.reference``."""
        from lit_irl.sequence.losses import preference_log_ratio_loss

        with torch.no_grad():
            ref_w, ref_l = self.reference.sequence_log_prob(prompts, preferred), self.reference.sequence_log_prob(prompts, rejected)
        logp_w, logp_l = self.policy.sequence_log_prob(prompts, preferred), self.policy.sequence_log_prob(prompts, rejected)
        return preference_log_ratio_loss(logp_w, logp_l, ref_w, ref_l, self.beta)

    def draw_pairs(self, num_pairs: int, label_temperature: float, seed: int) -> None:
        """``num_pairs`` Bradley-Terry-labelled pairs of the start policy's responses (:func:`bradley_terry_pairs`)."""
        check_positive(num_pairs=num_pairs, label_temperature=label_temperature)
        generator = torch.Generator().manual_seed(derive_seed(seed, 96))
        self.pair_prompts, self.preferred, self.rejected = bradley_terry_pairs(self.world, self.reference, num_pairs, label_temperature, generator)

    def preference_loss(self) -> torch.Tensor:
        rows = torch.randint(0, self.pair_prompts.shape[0], (self.batch_size,))
        return self.log_ratio_loss(self.pair_prompts[rows], self.preferred[rows], self.rejected[rows])


class DPO(DirectPreferenceLearner):
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
        check_positive(beta=beta)
        self.beta = beta
        self.draw_pairs(num_pairs, label_temperature, training.seed)

    def training_step(self, batch: int, batch_idx: int) -> None:
        optimizer, steps = self.optimizers(), self.gradient_steps_this_batch()
        for _ in range(steps):
            loss = self.preference_loss()
            self.optimizer_step(loss, optimizer, name="loss/dpo")
        self.end_step({"loss/dpo": loss.detach()}, steps)


class AIHFDPO(DPO):
    """AIHF-DPO in its clean form (card aihf.md §1.3; RPO): DPO's loss on the preference pairs plus
    ``w1 x`` the demonstrations' negative log-likelihood, ``-w1 mean log pi(y_E | x)`` (sequence sums, as
    everywhere here); ``w1 = 0`` is DPO.

    Args (beyond :class:`DPO`'s): ``num_demonstrations`` (or a ``demonstrations`` file), ``w1``.
    """

    def __init__(
        self,
        world: WorldConfig = WorldConfig(),  # never mutated
        model: TransformerConfig = TransformerConfig(),  # never mutated
        init_from: str | None = None,
        num_demonstrations: int = 1000,
        demonstrations: str | None = None,
        num_pairs: int = 1000,
        label_temperature: float = 1.0,
        w1: float = 1.0,
        beta: float = 0.1,
        lr: float = 1e-4,
        batch_size: int = 64,
        eval_prompts: int = 1000,
        training: TrainingConfig = TrainingConfig(total_steps=2_000, log_every=100),
    ) -> None:
        super().__init__(world, model, init_from, num_pairs, label_temperature, beta, lr, batch_size, eval_prompts, training)
        check_positive(num_demonstrations=num_demonstrations)
        if w1 < 0:
            raise LitIRLError(f"w1 must be >= 0, got {w1}")
        self.w1 = w1
        self.demo_prompts, self.demo_responses = expert_demonstrations(self.world, num_demonstrations, training.seed, demonstrations)

    def training_step(self, batch: int, batch_idx: int) -> None:
        optimizer, steps = self.optimizers(), self.gradient_steps_this_batch()
        for _ in range(steps):
            preference = self.preference_loss()
            rows = torch.randint(0, self.demo_prompts.shape[0], (self.batch_size,))
            demonstration = -self.policy.sequence_log_prob(self.demo_prompts[rows], self.demo_responses[rows]).mean()
            loss = self.w1 * demonstration + preference
            self.optimizer_step(loss, optimizer, name="loss/aihf_dpo")
        self.end_step({"loss/aihf_dpo": loss.detach(), "loss/dpo": preference.detach(), "loss/demonstration_nll": demonstration.detach()}, steps)


class SPIN(DirectPreferenceLearner):
    """SPIN (Chen et al. 2024): self-play fine-tuning on demonstrations. Each iteration the current
    policy answers the demonstrations' prompts; the reference becomes the current policy (the
    previous iterate) and ``steps_per_iteration`` steps of
    :func:`~lit_irl.sequence.losses.spin_loss` prefer the demonstration to the policy's own answer.
    Its implicit reward (the report's reward metrics) is relative to the previous iterate.

    Args (beyond :class:`SequenceLearner`'s): ``num_demonstrations`` (or a ``demonstrations`` file), ``beta``,
    ``steps_per_iteration``.
    """

    def __init__(
        self,
        world: WorldConfig = WorldConfig(),  # never mutated
        model: TransformerConfig = TransformerConfig(),  # never mutated
        init_from: str | None = None,
        num_demonstrations: int = 1000,
        demonstrations: str | None = None,
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
        self.demo_prompts, self.demo_responses = expert_demonstrations(self.world, num_demonstrations, training.seed, demonstrations)
        self.generated: torch.Tensor | None = None

    def self_play_loss(self, step: int) -> torch.Tensor:
        if step % self.steps_per_iteration == 0 or self.generated is None:
            # A new iteration: the previous iterate is the reference and answers the prompts.
            self.reference.load_state_dict(self.policy.state_dict())
            iteration = step // self.steps_per_iteration
            self.generated = self.reference.sample(self.demo_prompts, self.world.config.horizon, self.generator(iteration, 3))
        rows = torch.randint(0, self.demo_prompts.shape[0], (self.batch_size,))
        return self.log_ratio_loss(self.demo_prompts[rows], self.demo_responses[rows], self.generated[rows])

    def training_step(self, batch: int, batch_idx: int) -> None:
        optimizer, steps = self.optimizers(), self.gradient_steps_this_batch()
        for step in range(self.progress, self.progress + steps):
            loss = self.self_play_loss(step)
            self.optimizer_step(loss, optimizer, name="loss/spin")
        self.end_step({"loss/spin": loss.detach()}, steps)

    def run_state(self) -> dict[str, Any]:
        return {**super().run_state(), "generated": self.generated}

    def load_run_state(self, state: dict[str, Any]) -> None:
        super().load_run_state(state)
        self.generated = state["generated"]


class SelfPlayAIHF(SPIN):
    """Self-play AIHF in its clean form (card aihf.md §1.3, AIHF paper eq. 14): ``w1 x`` SPIN's loss on the
    demonstrations against the iterate's own responses plus DPO's loss on ``num_pairs`` preference
    pairs (drawn as :class:`DPO`'s), both against the previous iterate (as SPIN; the paper follows
    Chen et al.). ``w1 = 0`` is DPO with a moving reference.

    Args (beyond :class:`SPIN`'s): ``num_pairs``, ``label_temperature``, ``w1``.
    """

    def __init__(
        self,
        world: WorldConfig = WorldConfig(),  # never mutated
        model: TransformerConfig = TransformerConfig(),  # never mutated
        init_from: str | None = None,
        num_demonstrations: int = 1000,
        demonstrations: str | None = None,
        num_pairs: int = 1000,
        label_temperature: float = 1.0,
        w1: float = 1.0,
        beta: float = 0.1,
        steps_per_iteration: int = 200,
        lr: float = 1e-4,
        batch_size: int = 64,
        eval_prompts: int = 1000,
        training: TrainingConfig = TrainingConfig(total_steps=2_000, log_every=100),
    ) -> None:
        super().__init__(world, model, init_from, num_demonstrations, demonstrations, beta, steps_per_iteration, lr, batch_size, eval_prompts, training)
        if w1 < 0:
            raise LitIRLError(f"w1 must be >= 0, got {w1}")
        self.w1 = w1
        self.draw_pairs(num_pairs, label_temperature, training.seed)

    def training_step(self, batch: int, batch_idx: int) -> None:
        optimizer, steps = self.optimizers(), self.gradient_steps_this_batch()
        for step in range(self.progress, self.progress + steps):
            self_play = self.self_play_loss(step)
            preference = self.preference_loss()
            loss = self.w1 * self_play + preference
            self.optimizer_step(loss, optimizer, name="loss/self_play_aihf")
        self.end_step({"loss/self_play_aihf": loss.detach(), "loss/spin": self_play.detach(), "loss/dpo": preference.detach()}, steps)


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
        demonstrations: str | None = None,
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
        policy_update: str = "rloo",
        rloo_samples: int = 4,
        best_of: int = 8,
        ppo: PPOConfig = PPOConfig(),  # never mutated
        reward_lr: float = 1e-4,
        lr: float = 1e-4,
        batch_size: int = 64,
        eval_prompts: int = 1000,
        training: TrainingConfig = TrainingConfig(total_steps=2_500, log_every=100),
    ) -> None:
        super().__init__(world, model, init_from, num_demonstrations, demonstrations, preset, reward_loss, reward_init, kl_reference,
                         accumulate_pairs, rejected_temperature, reward_head, beta, policy_steps, reward_steps, policy_update, rloo_samples,
                         best_of, ppo, reward_lr, lr, batch_size, eval_prompts, training)  # fmt: skip
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
