"""A probabilistic ensemble dynamics model (PETS/MBPO/MOPO); its learner is :class:`lit_irl.algos.WorldModel`.

What follows the official code of Offline ML-IRL (inherited from Lu et al., ICLR 2022) and
OfflineRL-Kit (the reference card, ``offline.md`` sections 2.2-2.3):

- N members in one batched pass (:class:`~lit_irl.nn.EnsembleMLP`), 4x200 SiLU by default,
  truncated-normal weights (std ``1 / (2 sqrt(fan_in))``) and zero biases;
- input ``(s, a)`` z-scored (a std below 1e-12 counts as 1) and clipped to +-10; outputs are the
  mean and log-variance of the raw state delta ``s' - s`` (plus the reward with ``predict_reward``);
- learned log-variance bounds shared by the members (max starts at 0.5, min at -10) with a
  softplus soft clamp on both sides, and the loss term ``0.01 (sum max_logvar - sum min_logvar)``;
- loss: per member the mean over batch and dims of ``(y - mu)^2 exp(-logvar) + logvar``, summed over
  members; per-layer L2 weight decay 2.5e-5, 5e-5, 7.5e-5, 7.5e-5, 1e-4 on weights (not biases),
  applied as Adam's coupled ``weight_decay`` per layer (the same gradient as the official loss term);
- Adam 1e-3, batch 256; every member trains on its own bootstrap (rows drawn with replacement from
  the training split), reshuffled every epoch;
- after every epoch, each member's holdout MSE of the mean (no variance term): a member's weights
  are kept as its best when they improve it by more than 1% (relative); training stops after 5
  epochs in which no member improved, and ends on each member's best weights; the elites are the
  5 members of lowest holdout MSE; a model step sends each row to a random elite and samples its
  Gaussian.

What differs:

- the holdout is ``min(20%, 1000 rows)`` (OfflineRL-Kit; ``holdout_max: null`` gives the official
  20%), split once with the run's seed, and the normalizer is fitted on the training split only
  (OfflineRL-Kit; the official code also used next states);
- no reward head by default (``predict_reward: false``): in IRL the model never sees the dataset
  reward, so it cannot shape the elites either (card, correction 4);
- the official code lowers the learning rate x0.3 once when it would stop before
  ``min_model_epochs``; here ``min_epochs`` only delays the stop;
- the log-variance bounds are shared by the members, so the best snapshot takes the current
  bounds whenever any member improves (OfflineRL-Kit keeps them live);
- the elites are indices (:attr:`GaussianEnsemble.elites`) rather than re-sorted members.
- one output layer of ``2 D`` units gives mean and log-variance (OfflineRL-Kit), the same as the
  official two heads with one weight decay.

The dataset must carry ``next_observations`` (D4RL v2 layout): pairing ``obs[i]`` with
``obs[i + 1]`` mis-pairs transitions at episode ends, which a dynamics model must not learn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lit_irl.data.collect import derive_seed
from lit_irl.errors import LitIRLError, check_positive
from lit_irl.nn import Activation, EnsembleMLP

OFFICIAL_WEIGHT_DECAY = (2.5e-5, 5e-5, 7.5e-5, 7.5e-5, 1e-4)  # hidden layers, then the output layer
INPUT_CLIP = 10.0
LOG_2PI = math.log(2.0 * math.pi)
HOLDOUT_CHUNK = 8192  # rows per forward pass on the holdout: bounded memory for a 20% holdout of 1M rows
# Streams derived from the run's seed: the split, the bootstrap and each epoch's order are recomputed
# on resume instead of being stored (for 1M rows they would add ~100 MB to every checkpoint).
SPLIT_STREAM, BOOTSTRAP_STREAM, ORDER_STREAM = 101, 102, 103
CONFIG_HINT = "configs/world_model/<env>.yaml"


def _generator(*parts: int) -> torch.Generator:
    return torch.Generator().manual_seed(derive_seed(*parts))


def _layer_weight_decay(weight_decay: float | Sequence[float], layers: int) -> list[float]:
    """One decay per linear layer (hidden layers, then output); a number applies to all of them."""
    decays = [float(weight_decay)] * layers if isinstance(weight_decay, (int, float)) else [float(d) for d in weight_decay]
    if len(decays) != layers:
        raise LitIRLError(
            f"weight_decay has {len(decays)} values for {layers} linear layers (hidden layers + output); "
            "give one value per layer or a single number"
        )
    if any(d < 0 for d in decays):
        raise LitIRLError(f"weight_decay must be >= 0, got {list(decays)}")
    return decays


class GaussianEnsemble(nn.Module):
    """N Gaussian dynamics models ``p_i(s' - s | s, a)`` evaluated in one batched pass.

    See the module docstring for what follows the official code. ``forward`` returns the mean and
    log-variance of every member, shape ``(N, B, D)`` with ``D = obs_dim (+1 with predict_reward)``;
    ``obs``/``action`` may be ``(B, dim)`` (shared by the members) or ``(N, B, dim)`` (one
    minibatch per member, as in bootstrap training).
    """

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        num_models: int = 7,
        num_elites: int = 5,
        hidden: Sequence[int] = (200, 200, 200, 200),
        activation: Activation = "silu",
        predict_reward: bool = False,
        logvar_bound_coef: float = 0.01,
        max_logvar_init: float = 0.5,
        min_logvar_init: float = -10.0,
    ) -> None:
        super().__init__()
        check_positive(obs_dim=obs_dim, act_dim=act_dim, num_models=num_models, num_elites=num_elites)
        check_elites(num_models, num_elites)
        if not hidden:
            raise LitIRLError("hidden is empty; give at least one hidden layer size, e.g. [200, 200, 200, 200]")
        if min_logvar_init >= max_logvar_init:
            raise LitIRLError(f"min_logvar_init ({min_logvar_init}) must be below max_logvar_init ({max_logvar_init})")
        self.obs_dim, self.act_dim = obs_dim, act_dim
        self.num_models, self.num_elites = num_models, num_elites
        self.hidden, self.activation = [int(h) for h in hidden], activation
        self.predict_reward, self.logvar_bound_coef = bool(predict_reward), float(logvar_bound_coef)
        self.out_dim = obs_dim + int(self.predict_reward)
        self.net = EnsembleMLP(num_models, obs_dim + act_dim, self.hidden, 2 * self.out_dim, activation)
        for layer in self.net.layers:
            std = 1.0 / (2.0 * math.sqrt(layer.weight.shape[1]))
            nn.init.trunc_normal_(layer.weight, std=std, a=-2.0 * std, b=2.0 * std)
            nn.init.zeros_(layer.bias)
        self.max_logvar = nn.Parameter(torch.full((self.out_dim,), float(max_logvar_init)))
        self.min_logvar = nn.Parameter(torch.full((self.out_dim,), float(min_logvar_init)))
        self.register_buffer("input_mean", torch.zeros(obs_dim + act_dim))
        self.register_buffer("input_std", torch.ones(obs_dim + act_dim))
        self.register_buffer("elites", torch.arange(num_elites))

    def spec(self) -> dict[str, Any]:
        """What rebuilds this architecture (``GaussianEnsemble(**spec)``) before loading weights."""
        return {
            "obs_dim": self.obs_dim,
            "act_dim": self.act_dim,
            "num_models": self.num_models,
            "num_elites": self.num_elites,
            "hidden": list(self.hidden),
            "activation": self.activation,
            "predict_reward": self.predict_reward,
            "logvar_bound_coef": self.logvar_bound_coef,
        }

    # ------------------------------------------------------------ normalizer
    @torch.no_grad()
    def fit_input_normalizer(self, obs: torch.Tensor, action: torch.Tensor) -> None:
        """Mean and std of the training inputs ``(s, a)``; a constant dim is only centred."""
        inputs = torch.cat([obs, action], dim=-1).reshape(-1, self.obs_dim + self.act_dim).double()
        std = inputs.std(dim=0, unbiased=False)
        std[std < 1e-12] = 1.0
        self.input_mean.copy_(inputs.mean(dim=0))
        self.input_std.copy_(std)

    def normalized_inputs(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        if obs.shape[-1] != self.obs_dim or action.shape[-1] != self.act_dim:
            raise LitIRLError(
                f"this world model takes obs of {self.obs_dim} dims and actions of {self.act_dim}, got "
                f"{obs.shape[-1]} and {action.shape[-1]}; use a world model trained on this env's data"
            )
        inputs = torch.cat([obs, action], dim=-1)
        return ((inputs - self.input_mean) / self.input_std).clamp(-INPUT_CLIP, INPUT_CLIP)

    # --------------------------------------------------------------- outputs
    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and (soft-bounded) log-variance of ``(s' - s[, r])`` of every member: ``(N, B, D)`` each."""
        mean, raw_logvar = self.net(self.normalized_inputs(obs, action)).split(self.out_dim, dim=-1)
        logvar = self.max_logvar - F.softplus(self.max_logvar - raw_logvar)
        logvar = self.min_logvar + F.softplus(logvar - self.min_logvar)
        return mean, logvar

    def targets(self, obs: torch.Tensor, next_obs: torch.Tensor, reward: torch.Tensor | None = None) -> torch.Tensor:
        """What the members predict: ``s' - s``, and the reward after it with a reward head."""
        delta = next_obs - obs
        if not self.predict_reward:
            if reward is not None:
                # Failing loudly keeps the dataset reward out of a model that must not learn it (IRL).
                raise LitIRLError("this world model has no reward head (predict_reward: false); do not pass rewards to it")
            return delta
        if reward is None:
            raise LitIRLError("this world model predicts the reward (predict_reward: true); pass the transitions' rewards")
        return torch.cat([delta, reward.unsqueeze(-1)], dim=-1)

    def member_nll(
        self, obs: torch.Tensor, action: torch.Tensor, next_obs: torch.Tensor, reward: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Per member, the mean over rows and dims of ``(y - mu)^2 exp(-logvar) + logvar``: ``(N,)``
        (the official training objective: twice the Gaussian NLL without its constant)."""
        mean, logvar = self(obs, action)
        target = self.targets(obs, next_obs, reward)
        return ((mean - target).square() * torch.exp(-logvar) + logvar).mean(dim=(-2, -1))

    def nll_loss(self, obs: torch.Tensor, action: torch.Tensor, next_obs: torch.Tensor, reward: torch.Tensor | None = None) -> torch.Tensor:
        """:meth:`member_nll` summed over members (each member's gradient is its own loss's)."""
        return self.member_nll(obs, action, next_obs, reward).sum()

    def logvar_bound_loss(self) -> torch.Tensor:
        """``coef (sum max_logvar - sum min_logvar)``: keeps the learned bounds tight."""
        return self.logvar_bound_coef * (self.max_logvar.sum() - self.min_logvar.sum())

    @torch.no_grad()
    def holdout_metrics(
        self,
        obs: torch.Tensor,
        action: torch.Tensor,
        next_obs: torch.Tensor,
        reward: torch.Tensor | None = None,
        chunk_size: int = HOLDOUT_CHUNK,
    ) -> dict[str, torch.Tensor]:
        """Per member, over the given rows: ``mse`` (of the mean only, averaged over dims), ``nll``
        (Gaussian negative log-likelihood per dim, with its constant) and ``mse_per_dim`` ``(N, D)``."""
        squared = torch.zeros(self.num_models, self.out_dim, device=obs.device, dtype=torch.float64)
        nll = torch.zeros_like(squared)
        for start in range(0, obs.shape[0], chunk_size):
            rows = slice(start, start + chunk_size)
            mean, logvar = self(obs[rows], action[rows])
            error = (mean - self.targets(obs[rows], next_obs[rows], None if reward is None else reward[rows])).square()
            squared += error.sum(dim=1, dtype=torch.float64)
            nll += (0.5 * (error * torch.exp(-logvar) + logvar + LOG_2PI)).sum(dim=1, dtype=torch.float64)
        rows = max(obs.shape[0], 1)
        mse_per_dim = (squared / rows).float()
        return {"mse": mse_per_dim.mean(dim=-1), "nll": (nll / rows).float().mean(dim=-1), "mse_per_dim": mse_per_dim}

    def holdout_mse(
        self, obs: torch.Tensor, action: torch.Tensor, next_obs: torch.Tensor, reward: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Per member, the MSE of the mean on these rows (what elites are chosen by): ``(N,)``."""
        return self.holdout_metrics(obs, action, next_obs, reward)["mse"]

    @torch.no_grad()
    def set_elites(self, holdout_mse: torch.Tensor) -> None:
        """The ``num_elites`` members of lowest holdout MSE, best first."""
        self.elites.copy_(torch.argsort(holdout_mse.to(self.elites.device))[: self.num_elites])

    # -------------------------------------------------------------- rollouts
    def sample(
        self,
        obs: torch.Tensor,
        mean: torch.Tensor,
        logvar: torch.Tensor,
        generator: torch.Generator | None = None,
        deterministic: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(next_obs, reward or None)`` from outputs of :meth:`forward`: each row uses one elite drawn
        uniformly, and its Gaussian is sampled (``deterministic``: its mean).

        Separate from :meth:`step` so that a rollout computes the members' outputs once for both
        the next state and an uncertainty penalty (which uses all members)."""
        rows = obs.shape[0]
        if mean.shape != (self.num_models, rows, self.out_dim) or logvar.shape != mean.shape:
            expected = (self.num_models, rows, self.out_dim)
            raise LitIRLError(f"sample needs mean and logvar of shape {expected} (forward's), got {tuple(mean.shape)}")
        # Drawn on the generator's device, then moved: a CPU generator drives a GPU rollout too.
        draw_device = generator.device if generator is not None else obs.device
        pick = torch.randint(0, self.num_elites, (rows,), generator=generator, device=draw_device).to(obs.device)
        member, row = self.elites[pick], torch.arange(rows, device=obs.device)
        prediction = mean[member, row]
        if not deterministic:
            noise = torch.randn(prediction.shape, generator=generator, device=draw_device, dtype=prediction.dtype).to(obs.device)
            prediction = prediction + noise * torch.exp(0.5 * logvar[member, row])
        next_obs = obs + prediction[:, : self.obs_dim]
        return next_obs, prediction[:, self.obs_dim] if self.predict_reward else None

    @torch.no_grad()
    def step(
        self, obs: torch.Tensor, action: torch.Tensor, generator: torch.Generator | None = None, deterministic: bool = False
    ) -> torch.Tensor:
        """Next states ``(B, obs_dim)`` of a batch ``(B, obs_dim)``, ``(B, act_dim)``: each row from a random elite."""
        mean, logvar = self(obs, action)
        return self.sample(obs, mean, logvar, generator, deterministic)[0]

    # -------------------------------------------------------------- training
    def parameter_groups(self, weight_decay: float | Sequence[float] = OFFICIAL_WEIGHT_DECAY) -> list[dict[str, Any]]:
        """Adam parameter groups: one per layer's weights with its decay; biases and bounds undecayed."""
        decays = _layer_weight_decay(weight_decay, len(self.net.layers))
        groups: list[dict[str, Any]] = [{"params": [layer.weight], "weight_decay": d} for layer, d in zip(self.net.layers, decays)]
        groups.append({"params": [layer.bias for layer in self.net.layers] + [self.max_logvar, self.min_logvar], "weight_decay": 0.0})
        return groups

    @torch.no_grad()
    def copy_members_from(self, other: GaussianEnsemble, members: torch.Tensor) -> None:
        """Take the weights of ``members`` (a boolean mask over N) and the shared bounds from ``other``."""
        for mine, theirs in zip(self.net.parameters(), other.net.parameters()):
            mine[members] = theirs[members]  # every ensemble parameter has the member first
        self.max_logvar.copy_(other.max_logvar)
        self.min_logvar.copy_(other.min_logvar)


def check_elites(num_models: int, num_elites: int) -> None:
    if num_elites > num_models:
        raise LitIRLError(f"num_elites ({num_elites}) exceeds num_models ({num_models}); set num_elites <= num_models (official: 5 of 7)")
