"""The RLHF pipeline on the synthetic language: a Bradley-Terry reward model on preference pairs
(:class:`RewardModel`), then a KL-regularised policy step on a frozen reward (:class:`PPO`): the reward
model's, any learned sequence reward's (IRL, AIHF), or the gold reward itself (the oracle: with the
expert's temperature and the base language as reference its optimum is the expert).
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from lit_irl.algos.learner import TrainingConfig
from lit_irl.checkpoint_io import load_checkpoint_file
from lit_irl.errors import LitIRLError, check_positive
from lit_irl.sequence.learners import HeldOutStopping, SequenceLearner, bradley_terry_pairs
from lit_irl.sequence.losses import irl_reward_loss
from lit_irl.sequence.model import CausalPolicy, TransformerConfig, build_model, frozen_copy, reward_copy
from lit_irl.sequence.policy_steps import PolicyUpdate, PPOConfig, SequenceReward
from lit_irl.data.collect import derive_seed
from lit_irl.sequence.world import WorldConfig

REWARD_HEADS = ("last", "additive")


def check_reward_head(reward_head: str) -> None:
    if reward_head not in REWARD_HEADS:
        raise LitIRLError(f"reward_head must be one of {', '.join(REWARD_HEADS)}, got {reward_head!r}")


class RewardModel(HeldOutStopping, SequenceLearner):
    """The RM stage of RLHF: a reward model (a copy of the start policy, ``init_from``: SFT, with its
    value head zeroed and read at the last response token or summed, ``reward_head``) fitted by the
    Bradley-Terry loss on ``num_pairs`` pairs of the start policy's responses labelled as
    :class:`~lit_irl.sequence.DPO`'s. ``validation_fraction`` of the pairs are held out and the run stops
    on their Bradley-Terry loss (:class:`~lit_irl.sequence.learners.HeldOutStopping`, as SFT on its
    demonstrations). The policy does not move; the report's reward metrics score the reward model.

    Args (beyond :class:`SequenceLearner`'s): ``num_pairs``, ``label_temperature``, ``reward_head``,
    ``validation_fraction``, ``check_every``, ``patience`` (``lr`` is the reward model's step size).
    """

    learns_reward = True

    def __init__(
        self,
        world: WorldConfig = WorldConfig(),  # never mutated
        model: TransformerConfig = TransformerConfig(),  # never mutated
        init_from: str | None = None,
        num_pairs: int = 1000,
        label_temperature: float = 1.0,
        reward_head: str = "last",
        validation_fraction: float = 0.1,
        check_every: int = 20,
        patience: int = 5,
        lr: float = 1e-4,
        batch_size: int = 64,
        eval_prompts: int = 1000,
        training: TrainingConfig = TrainingConfig(total_steps=1_000, log_every=100),
    ) -> None:
        super().__init__(world, model, init_from, lr, batch_size, eval_prompts, training)
        check_positive(num_pairs=num_pairs, label_temperature=label_temperature)
        check_reward_head(reward_head)
        held_out = self.init_stopping(check_every, patience, num_pairs, validation_fraction, "pairs")
        self.reward_head = reward_head
        self.reward = reward_copy(self.policy)
        self.policy.requires_grad_(False)
        generator = torch.Generator().manual_seed(derive_seed(training.seed, 96))
        prompts, preferred, rejected = bradley_terry_pairs(self.world, self.reference, num_pairs, label_temperature, generator)
        self.pairs = {"prompts": prompts[held_out:], "preferred": preferred[held_out:], "rejected": rejected[held_out:]}
        self.validation = {"prompts": prompts[:held_out], "preferred": preferred[:held_out], "rejected": rejected[:held_out]}

    def configure_optimizers(self):
        return torch.optim.Adam(self.reward.parameters(), lr=self.lr)

    def sequence_reward(self, prompts: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
        return self.reward.sequence_reward(prompts, responses, self.reward_head)

    def learned_reward(self) -> SequenceReward:
        return self.sequence_reward

    def bradley_terry_loss(self, pairs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        preferred, rejected = self.sequence_reward(pairs["prompts"], pairs["preferred"]), self.sequence_reward(pairs["prompts"], pairs["rejected"])
        return irl_reward_loss(preferred, rejected, "logsigmoid"), (preferred > rejected).float().mean()

    @torch.no_grad()
    def held_out_loss(self) -> float:
        return float(self.bradley_terry_loss({k: v.to(self.device) for k, v in self.validation.items()})[0])

    def stopped_module(self) -> torch.nn.Module:
        return self.reward

    def training_step(self, batch: int, batch_idx: int) -> None:
        optimizer = self.optimizers()

        def gradient_step() -> dict[str, torch.Tensor]:
            loss, accuracy = self.bradley_terry_loss(self.sample(self.pairs, self.batch_size))
            self.optimizer_step(loss, optimizer, name="loss/reward")
            return {"loss/reward": loss.detach(), "reward/train_accuracy": accuracy.detach()}

        self.train_with_stopping(gradient_step, "reward")


def load_sequence_reward(path: str, model: TransformerConfig) -> CausalPolicy:
    """The frozen reward model of a sequence learner's checkpoint that learns one (RewardModel, IRL, AIHF)."""
    state = load_checkpoint_file(path)
    identity = state.get("lit_irl", {}) if isinstance(state, dict) else {}
    weights = {k[len("reward.") :]: v for k, v in state.get("state_dict", {}).items() if k.startswith("reward.")}
    if "sequence_world" not in identity:
        raise LitIRLError(f"{path} is not a sequence learner's checkpoint; pass a RewardModel, IRL or AIHF run's last.ckpt (or reward_from: gold)")
    if not weights:
        raise LitIRLError(f"{path} ({identity.get('algo')}) holds no reward model; pass a RewardModel, IRL or AIHF run's last.ckpt (or reward_from: gold)")
    reward = build_model(model)
    try:
        reward.load_state_dict(weights)
    except RuntimeError:
        raise LitIRLError(f"the reward model of {path} has other sizes than this config's model ({model}); use the model config it was trained with") from None
    return frozen_copy(reward)


class PPO(SequenceLearner):
    """The policy stage of RLHF: ``maximize E[r(x, y)] - beta KL(pi || pi_ref)`` from the start policy
    (``init_from``, also the reference) on a frozen reward, ``reward_from``: a checkpoint with a reward
    model (:class:`RewardModel`, IRL, AIHF; read with ``reward_head``), or ``gold`` for the world's
    gold reward (the oracle). The step is ``policy_update`` (default token-level PPO, thesis Table 5.6:
    beta 0.05, gamma 1, lambda 0.95, 4 epochs, clips 0.2, value coefficient 0.1; the critic starts as
    the reward model, or as the start policy's network for ``gold``), or ``rloo`` / ``best_of_n``.

    Args (beyond :class:`SequenceLearner`'s): ``reward_from``, ``reward_head``, ``beta``,
    ``policy_update``, ``rloo_samples``, ``best_of``, ``ppo``.
    """

    def __init__(
        self,
        world: WorldConfig = WorldConfig(),  # never mutated
        model: TransformerConfig = TransformerConfig(),  # never mutated
        init_from: str | None = None,
        reward_from: str = "gold",
        reward_head: str = "last",
        beta: float = 0.05,
        policy_update: str = "ppo",
        rloo_samples: int = 4,
        best_of: int = 8,
        ppo: PPOConfig = PPOConfig(),  # never mutated
        lr: float = 1e-4,
        batch_size: int = 64,
        eval_prompts: int = 1000,
        training: TrainingConfig = TrainingConfig(total_steps=2_000, log_every=100),
    ) -> None:
        super().__init__(world, model, init_from, lr, batch_size, eval_prompts, training)
        check_reward_head(reward_head)
        self.policy_update = PolicyUpdate(policy_update, beta, rloo_samples, best_of, ppo)
        self.reward_from, self.reward_head, self.critic_lr = reward_from, reward_head, ppo.critic_lr
        self.reward_model = None if reward_from == "gold" else load_sequence_reward(reward_from, model)
        self.critic = copy.deepcopy(self.reward_model or self.policy).requires_grad_(True) if policy_update == "ppo" else None

    def configure_optimizers(self):
        optimizers = [torch.optim.Adam(self.policy.parameters(), lr=self.lr)]
        if self.critic is not None:
            optimizers.append(torch.optim.Adam(self.critic.parameters(), lr=self.critic_lr))
        return optimizers

    def sequence_reward(self, prompts: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
        if self.reward_model is None:
            return self.world.gold_reward(prompts.cpu(), responses.cpu()).to(device=prompts.device, dtype=torch.float32)
        return self.reward_model.sequence_reward(prompts, responses, self.reward_head)

    def training_step(self, batch: int, batch_idx: int) -> None:
        optimizers = self.optimizers()
        optimizers = optimizers if isinstance(optimizers, list) else [optimizers]
        steps = self.gradient_steps_this_batch()
        for step in range(self.progress, self.progress + steps):
            stats = self.policy_update.step(self, self.sequence_reward, self.generator(step, 1), optimizers)
        self.end_step(stats, steps)

    def run_state(self) -> dict[str, Any]:
        return {**super().run_state(), "policy_update": self.policy_update.state()}

    def load_run_state(self, state: dict[str, Any]) -> None:
        super().load_run_state(state)
        self.policy_update.load_state(state.get("policy_update", {}))
