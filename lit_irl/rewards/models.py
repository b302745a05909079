"""Learned rewards r(s), r(s, a), r(s, a, s') with one interface.

``RewardModel(batch)`` reads the replay / dataset keys (``obs``, ``action``, ``next_obs``) of a
TensorDict of any batch shape and returns one reward per transition: the same call serves the
SAC relabelling of replayed batches, the ML-IRL reward step on trajectories ``(N, T)``, a
Bradley-Terry loss on segments and a discriminator's logits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from tensordict import TensorDictBase
from torch import nn

from lit_irl.errors import LitIRLError, check_positive
from lit_irl.nn import Activation, activation, mlp
from lit_irl.nn.actor import floored_std

RewardInputs = Literal["s", "sa", "sas"]


@dataclass
class RewardConfig:
    """Reward network and its optimizer.

    Attributes:
        inputs: ``s`` (state-only r(s), transfers across dynamics), ``sa`` (r(s, a)) or ``sas`` (r(s, a, s')).
        hidden: hidden layer sizes ([] = linear in the (normalized) inputs).
        activation: between hidden layers.
        linear_first_layer: no activation after the first hidden layer (the official ML-IRL reward
            net: Linear, Linear, ReLU, Linear, i.e. one ReLU layer on a learned linear projection).
        zero_init: the output layer starts at zero, so the first reward is 0 everywhere: no
            initial ordering of states (a random init can pay the agent's and fallen states more
            than the expert's, which the slow reward step then takes many iterations to undo).
        clamp: outputs are clipped to [-clamp, clamp] (official ML-IRL: 10); ``None`` = no clip.
        clamp_gradient: what a clipped output passes back to the reward step. ``zero`` (the official
            code's ``torch.clamp``): nothing, so a row past the clip no longer moves.
            ``straight_through``: the clipped value forward, the unclipped gradient back, so every
            row keeps its push. Neither holds the reward's scale: in Offline ML-IRL on medium-replay
            with the fast step, 90-98% of the reward step's rows ended past +10 either way (sooner
            with ``straight_through``; results/history.md, 2026-12-01).
        output_l2: weight c of the scale penalty ``c/2 * mean r_theta(s, a)^2`` (the unclipped
            outputs) on each side's rows of a reward step (agent, expert), added to the likelihood learners' reward loss
            (ML-IRL, f-IRL, AIHF, Offline ML-IRL; 0 = off, the papers' loss). Their loss is a difference
            of means and does not change when a constant is added to r_theta, so nothing holds its
            level: with the fast step in Offline ML-IRL it drifted past the clip on both sides. The
            penalty pins the level near ``output_anchor`` and bounds a fully separated reward at
            ``output_anchor`` +- 1/c.
        output_anchor: the level b the scale penalty pulls toward, ``c/2 * mean (r_theta - b)^2``
            (needs ``output_l2``; the output layer's bias starts at b). Where episodes end early the
            level is not neutral: pinned at 0 (b = 0), the agent's side is paid below 0 and a fall
            that ends its rollout gains (Offline ML-IRL on medium-replay collapsed so, 2026-12-06); a
            positive b is an explicit survival bonus in place of the one the drift supplied.
        normalize_inputs: standardize observations with the expert data's mean and std.
        lr: Adam step size alpha_0 of the reward step.
        lr_decay_power: sigma in alpha_k = alpha_0 / (k + 1)^sigma (0 = constant step size).
        weight_decay: Adam weight decay (official ML-IRL: 1e-3).
        betas: Adam betas.
        compute_dtype: ``bfloat16`` runs the network under autocast (the parameters, the optimizer
            and the returned rewards stay float32; rewards carry bf16's 3 significant digits). On a
            CPU with AVX512-BF16, steps on 512-1600 rows are 1.7-3.0x faster
            (``tools/bench_throughput.py --only reward_dtype``, cores shared), a forward pass on 100
            rows 1.3-1.4x: f-IRL's Hopper iteration over its SAC work went from 1.25x to 1.15x,
            AIRL's from 1.45x to 1.30x (results/history.md, 2026-12-07).
            A CPU without bf16 instructions may run it slower than float32: measure there first.
    """

    inputs: RewardInputs = "s"
    hidden: list[int] = field(default_factory=lambda: [64, 64])
    activation: Activation = "relu"
    linear_first_layer: bool = False
    zero_init: bool = False
    clamp: float | None = 10.0
    clamp_gradient: Literal["zero", "straight_through"] = "zero"
    output_l2: float = 0.0
    output_anchor: float = 0.0
    normalize_inputs: bool = False
    lr: float = 1e-4
    lr_decay_power: float = 0.0
    weight_decay: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    compute_dtype: Literal["float32", "bfloat16"] = "float32"

    def __post_init__(self) -> None:
        if self.inputs not in ("s", "sa", "sas"):
            raise LitIRLError(f"reward inputs must be s, sa or sas, got {self.inputs!r}")
        check_positive(reward_hidden=self.hidden, reward_lr=self.lr)
        if self.clamp is not None:
            check_positive(reward_clamp=self.clamp)
        if self.clamp_gradient not in ("zero", "straight_through"):
            raise LitIRLError(f"reward clamp_gradient must be 'zero' or 'straight_through', got {self.clamp_gradient!r}")
        if self.output_l2 < 0:
            raise LitIRLError(f"reward output_l2 must be >= 0, got {self.output_l2}; 0 turns the scale penalty off")
        if self.output_anchor != 0 and self.output_l2 == 0:
            raise LitIRLError(f"reward output_anchor {self.output_anchor} needs the scale penalty it anchors: set output_l2 > 0, or output_anchor 0")
        if self.clamp is not None and abs(self.output_anchor) >= self.clamp:
            raise LitIRLError(f"reward output_anchor must lie inside the clip (-{self.clamp}, {self.clamp}), got {self.output_anchor}")
        if self.lr_decay_power < 0:
            raise LitIRLError(f"lr_decay_power must be >= 0, got {self.lr_decay_power}")
        if self.weight_decay < 0:
            raise LitIRLError(f"reward weight_decay must be >= 0, got {self.weight_decay}; 0 turns it off")
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise LitIRLError(f"reward betas must be two numbers in [0, 1), got {list(self.betas)}; Adam's default is [0.9, 0.999]")
        if self.compute_dtype not in ("float32", "bfloat16"):
            raise LitIRLError(f"reward compute_dtype must be float32 or bfloat16, got {self.compute_dtype!r}")
        activation(self.activation)


class RewardModel(nn.Module):
    def __init__(self, obs_dim: int, act_dim: int, config: RewardConfig) -> None:
        super().__init__()
        self.config = config
        self.uses_action = config.inputs in ("sa", "sas")
        self.uses_next_obs = config.inputs == "sas"
        in_dim = obs_dim + (act_dim if self.uses_action else 0) + (obs_dim if self.uses_next_obs else 0)
        self.net = mlp(in_dim, config.hidden, 1, config.activation, config.linear_first_layer)
        if config.zero_init:
            nn.init.zeros_(self.net[-1].weight)
            nn.init.zeros_(self.net[-1].bias)
        with torch.no_grad():
            self.net[-1].bias.add_(config.output_anchor)
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_std", torch.ones(obs_dim))

    def set_input_normalization(self, observations: torch.Tensor) -> None:
        """Standardize observations with these statistics (the expert's) from now on; the std of
        each dimension is floored (:func:`lit_irl.nn.actor.floored_std`: with one expert trajectory
        a near-constant dimension would otherwise scale the agent's values of it by up to 1e6)."""
        flat = observations.reshape(-1, observations.shape[-1])
        self.obs_mean.copy_(flat.mean(0))
        self.obs_std.copy_(floored_std(flat.std(0) if flat.shape[0] > 1 else torch.ones(flat.shape[-1])))

    def forward(self, batch: TensorDictBase) -> torch.Tensor:
        """One reward per transition of ``batch`` (any batch shape)."""
        reward = self.unclipped(batch)
        if self.config.clamp is not None:
            clipped = reward.clamp(-self.config.clamp, self.config.clamp)
            reward = reward + (clipped - reward).detach() if self.config.clamp_gradient == "straight_through" else clipped
        return reward

    def unclipped(self, batch: TensorDictBase) -> torch.Tensor:
        """The network's output before the clip: what the reward ranks, where the clip pays a constant."""
        parts = [(batch["obs"] - self.obs_mean) / self.obs_std]
        if self.uses_action:
            if "action" not in batch.keys():
                raise LitIRLError("this reward is r(s, a) but the data have no actions (state-only demonstrations?); use reward inputs 's'")
            parts.append(batch["action"])
        if self.uses_next_obs:
            parts.append((batch["next_obs"] - self.obs_mean) / self.obs_std)
        inputs = torch.cat(parts, -1)
        if self.config.compute_dtype == "bfloat16":
            with torch.autocast(inputs.device.type, dtype=torch.bfloat16):
                return self.net(inputs).squeeze(-1).float()
        return self.net(inputs).squeeze(-1)

    def scale_penalty(self, *sides: tuple[TensorDictBase, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``output_l2/2`` times the sum over ``sides`` of each side's mean squared distance of the
        unclipped reward from ``output_anchor`` over its real rows (``(batch, mask)`` pairs of the same shape), to add to the reward loss
        (one term per mean of the loss: under Offline ML-IRL's per-step means a fully separated reward
        ends at output_anchor +-1/output_l2; ML-IRL's discounted returns weigh each row more); 0
        without a forward pass when ``output_l2`` is 0."""
        if self.config.output_l2 == 0:
            return torch.zeros((), device=self.obs_mean.device), {}
        squares = []
        for batch, mask in sides:
            weights = mask.to(self.obs_mean.dtype)
            squares.append(((self.unclipped(batch) - self.config.output_anchor).square() * weights).sum() / weights.sum().clamp_min(1.0))
        penalty = 0.5 * self.config.output_l2 * torch.stack(squares).sum()
        return penalty, {"reward/scale_penalty": penalty.detach()}

    def make_optimizer(self) -> torch.optim.Adam:
        c = self.config
        return torch.optim.Adam(self.parameters(), lr=c.lr, betas=tuple(c.betas), weight_decay=c.weight_decay)

    def make_scheduled_optimizer(self) -> tuple[torch.optim.Adam, torch.optim.lr_scheduler.LambdaLR]:
        """Adam and its step-size schedule ``lr / (k + 1)^lr_decay_power`` over reward steps ``k``
        (the learner calls ``schedule.step()`` after each reward step)."""
        optimizer, power = self.make_optimizer(), self.config.lr_decay_power
        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lambda k: (k + 1) ** -power)


def refuse_scale_penalty(config: RewardConfig, learner: str) -> None:
    """One clear error where a learner's own reward loss does not read ``output_l2`` (it would be ignored)."""
    if config.output_l2 != 0:
        raise LitIRLError(f"{learner} does not use reward output_l2 (the likelihood learners' scale penalty); remove it or set it to 0")


def load_reward(path: str, obs_dim: int, act_dim: int) -> RewardModel:
    """The learned reward of an IRL checkpoint, frozen (for reward transfer to new dynamics)."""
    from lit_irl.checkpoint_io import load_checkpoint_file
    from lit_irl.data.rollout import config_from_hparams

    state = load_checkpoint_file(path)
    hparams = state.get("hyper_parameters", {})
    if "reward" not in hparams or not any(k.startswith("reward.") for k in state.get("state_dict", {})):
        algo = state.get("lit_irl", {}).get("algo", "an unknown writer")
        raise LitIRLError(
            f"{path} (written by {algo}) holds no learned reward that transfers (GAIL's discriminator depends on the policy it "
            "was trained against; SQIL, BC and the RL learners learn none); pass a checkpoint of MLIRL, AIHF, AIRL (its g(s)), "
            "OfflineMLIRL or PreferenceReward"
        )
    config = config_from_hparams(RewardConfig, hparams["reward"])
    weights = {k[len("reward.") :]: v for k, v in state["state_dict"].items() if k.startswith("reward.")}
    source_obs = weights["obs_mean"].shape[0]
    if source_obs != obs_dim:
        raise LitIRLError(f"the reward of {path} takes {source_obs}-dim observations, this env has {obs_dim}; transfer needs the same observation space")
    model = RewardModel(obs_dim, act_dim, config)
    try:
        model.load_state_dict(weights)
    except RuntimeError:
        raise LitIRLError(f"the reward of {path} takes other action dims than this env's {act_dim}; use a state-only reward to transfer") from None
    # Frozen by requires_grad only: an MLP has no train/eval difference, and a module left in eval
    # mode makes Lightning warn at the start of every fit.
    return model.requires_grad_(False)
