"""Actors: what every learner's policy offers to collection, evaluation and the other learners.

The contract (:class:`Actor`), whatever the learner (SAC, PPO, BC, the offline methods):

- ``act(obs, deterministic, generator, noise) -> action``: the collection and evaluation hot path,
  no gradients; noise from an explicit generator (exact resume) or given (reproducible rollouts);
- ``forward(obs) -> (action, log_prob)``: a reparameterized sample and its log-probability
  (SAC's actor loss, KL estimates);
- ``log_prob(obs, action) -> (B,)``: the log-density of *given* actions (BC, PPO's ratio, AIRL's
  discriminator, KL to a reference policy), finite at the bounds of the action box;
- ``spec() -> dict``: the class and constructor arguments, so that an exported policy rebuilds its
  own architecture (:func:`build_actor`) whichever learner trained it.

Observations may be standardized inside the actor (``normalize_obs``): the statistics are buffers,
saved with the weights, so an exported policy acts on raw env observations wherever it is rolled out.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import nn

from lit_irl.errors import LitIRLError
from lit_irl.nn.mlp import mlp

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0
# Actions given to log_prob are pulled this far inside the box before atanh: atanh(1 - 1e-6) = 7.25,
# so an expert action exactly at a bound gets a large but finite log-density instead of inf/nan.
BOUND_EPS = 1e-6
OBS_CLIP = 10.0  # standardized observations are clipped (as in the PPO reference implementations)
STD_FLOOR_FRACTION = 0.1


@runtime_checkable
class Actor(Protocol):
    action_scale: torch.Tensor
    action_bias: torch.Tensor
    bounded: bool  # actions always inside the box (tanh-squashed); else collection clips what the env gets

    def act(
        self, obs: torch.Tensor, deterministic: bool = False, generator: torch.Generator | None = None, noise: torch.Tensor | None = None
    ) -> torch.Tensor: ...

    def forward(self, obs: torch.Tensor, deterministic: bool = False, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]: ...

    def log_prob(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor: ...

    def spec(self) -> dict[str, Any]: ...


def gaussian_log_density(noise: torch.Tensor, log_std: torch.Tensor | float) -> torch.Tensor:
    """``log N(mean + noise * std; mean, std)`` summed over the last dim, with ``noise`` standardized."""
    return (-0.5 * noise.pow(2) - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)


def floored_std(std: torch.Tensor, min_std: float = 1e-6) -> torch.Tensor:
    """Per-dimension stds floored at ``STD_FLOOR_FRACTION`` (0.1) of their median (and ``min_std``).

    With few data (one expert trajectory) a dimension can be (nearly) constant; dividing by its std
    would scale other values of it by up to 1e6 and let that one dimension decide the output. With
    the floor it weighs at most ten times a typical dimension.
    """
    return std.clamp(min=max(STD_FLOOR_FRACTION * float(std.median()), min_std))


class ObservationNormalizer(nn.Module):
    """``clip((obs - mean) / std, +-10)`` with statistics that are either set once (from a dataset)
    or accumulated from batches (running mean and variance, Chan et al.'s parallel update).
    The std of each dimension is floored (:func:`floored_std`).
    """

    def __init__(self, dim: int, min_std: float = 1e-4) -> None:
        super().__init__()
        self.min_std = min_std
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("var", torch.ones(dim))
        self.register_buffer("std", torch.ones(dim))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))
        # (obs - mean) / std as one fused op: obs * scale + shift (acting on one state is the hot path)
        self.register_buffer("scale", torch.ones(dim))
        self.register_buffer("shift", torch.zeros(dim))

    @torch.no_grad()
    def update(self, obs: torch.Tensor) -> None:
        obs = obs.reshape(-1, obs.shape[-1]).to(self.mean.dtype)
        n = obs.shape[0]
        if n == 0:
            return
        batch_mean, batch_var = obs.mean(0), obs.var(0, unbiased=False)
        total = self.count + n
        delta = batch_mean - self.mean
        weight = float(n / total)
        self.mean += delta * weight
        self.var.copy_((self.var * float(self.count) + batch_var * n + delta.pow(2) * float(self.count) * weight) / float(total))
        self.count.copy_(total)
        self.std.copy_(floored_std(self.var.sqrt(), self.min_std))
        self.scale.copy_(1.0 / self.std)
        self.shift.copy_(-self.mean / self.std)

    @torch.no_grad()
    def set(self, obs: torch.Tensor, unscaled: Sequence[int] = ()) -> None:
        """Statistics of these observations only (e.g. a dataset's); the ``unscaled`` dimensions pass
        through unchanged (mean 0, std 1), e.g. an absorbing-state indicator the data never sets."""
        self.count.zero_()
        self.mean.zero_()
        self.var.fill_(1.0)
        self.update(obs)
        for dim in unscaled:
            self.mean[dim], self.var[dim], self.std[dim], self.scale[dim], self.shift[dim] = 0.0, 1.0, 1.0, 1.0, 0.0

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.addcmul(self.shift, obs, self.scale).clamp_(-OBS_CLIP, OBS_CLIP)

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any, **kwargs: Any) -> None:
        # Checkpoints written before scale / shift were kept (the PPO and BC runs carried in results/)
        # hold mean and std only: derive them, so those checkpoints load and act the same.
        if prefix + "std" in state_dict and prefix + "scale" not in state_dict:
            std = state_dict[prefix + "std"]
            state_dict[prefix + "scale"] = 1.0 / std
            state_dict[prefix + "shift"] = -state_dict[prefix + "mean"] / std
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class _BoxActor(nn.Module):
    """Shared parts: the action box (``action_scale``/``action_bias`` buffers), optional observation
    normalization and :meth:`spec`."""

    bounded = True  # its actions always lie in the box (collection clips those of unbounded actors)

    def __init__(self, obs_dim: int, act_dim: int, action_low: torch.Tensor, action_high: torch.Tensor, normalize_obs: bool) -> None:
        super().__init__()
        self.obs_dim, self.act_dim = obs_dim, act_dim
        action_low, action_high = torch.as_tensor(action_low, dtype=torch.float32), torch.as_tensor(action_high, dtype=torch.float32)
        self.register_buffer("action_scale", (action_high - action_low) / 2)
        self.register_buffer("action_bias", (action_high + action_low) / 2)
        # Only built when used: actors without it keep the state-dict keys of earlier checkpoints.
        self.obs_normalizer = ObservationNormalizer(obs_dim) if normalize_obs else None
        self._spec_args: dict[str, Any] = {}

    def _features(self, obs: torch.Tensor) -> torch.Tensor:
        return obs if self.obs_normalizer is None else self.obs_normalizer(obs)

    def spec(self) -> dict[str, Any]:
        low = (self.action_bias - self.action_scale).tolist()
        high = (self.action_bias + self.action_scale).tolist()
        return {
            "class_path": f"{type(self).__module__}.{type(self).__qualname__}",
            "init_args": {"obs_dim": self.obs_dim, "act_dim": self.act_dim, "action_low": low, "action_high": high, **self._spec_args},
        }

    def _noise(self, shape: torch.Size, like: torch.Tensor, generator: torch.Generator | None, noise: torch.Tensor | None) -> torch.Tensor:
        if noise is None:
            noise = torch.randn(shape, generator=generator, dtype=like.dtype, device=generator.device if generator else like.device)
        return noise.to(like.device)

    def _unsquash(self, action: torch.Tensor) -> torch.Tensor:
        """The action box mapped to [-1, 1] and pulled ``BOUND_EPS`` inside it."""
        return ((action - self.action_bias) / self.action_scale).clamp(-1 + BOUND_EPS, 1 - BOUND_EPS)


class TanhGaussianActor(_BoxActor):
    """Gaussian policy squashed by tanh into the env's action box: ``a = scale * tanh(u) + bias``,
    ``u ~ N(mu(s), sigma(s))`` (SAC, BC's default head, the offline methods).

    Noise comes from an explicit ``generator`` when one is given, so that collection can draw from
    its own saved random stream (exact resume) while updates use the global one.
    """

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        hidden: Sequence[int],
        action_low: torch.Tensor,
        action_high: torch.Tensor,
        act: str = "relu",
        normalize_obs: bool = False,
    ) -> None:
        super().__init__(obs_dim, act_dim, action_low, action_high, normalize_obs)
        self.net = mlp(obs_dim, hidden, 2 * act_dim, act)
        self._spec_args = {"hidden": list(hidden), "act": act, "normalize_obs": normalize_obs}

    def _mean_log_std(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_std = self.net(self._features(obs)).chunk(2, dim=-1)
        # Soft clamp keeps gradients alive at the bounds (as in the SAC reference code).
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (torch.tanh(log_std) + 1)
        return mean, log_std

    def _log_prob_of_pre_tanh(self, u: torch.Tensor, noise: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
        # log N(u; mean, std) - sum log(1 - tanh(u)^2) - sum log scale, written stably:
        # log(1 - tanh^2 u) = 2 (log 2 - u - softplus(-2u)).
        squash_correction = 2.0 * (math.log(2.0) - u - F.softplus(-2.0 * u))
        return gaussian_log_density(noise, log_std) - squash_correction.sum(-1) - torch.log(self.action_scale).sum()

    def distribution(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mean, log_std)`` of the pre-tanh Gaussian: the network's one pass, which
        :meth:`sample` and :meth:`log_prob_under` can share (SAC's actor loss and AIRL's reward)."""
        return self._mean_log_std(obs)

    def sample(
        self, mean: torch.Tensor, log_std: torch.Tensor, deterministic: bool = False, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparameterized ``(action, log_prob)`` from the :meth:`distribution` ``(mean, log_std)``."""
        noise = torch.zeros_like(mean) if deterministic else self._noise(mean.shape, mean, generator, None)
        u = mean + noise * log_std.exp()
        return torch.tanh(u) * self.action_scale + self.action_bias, self._log_prob_of_pre_tanh(u, noise, log_std)

    def log_prob_under(self, mean: torch.Tensor, log_std: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """:meth:`log_prob` of given actions under the :meth:`distribution` ``(mean, log_std)``."""
        u = torch.atanh(self._unsquash(action))
        return self._log_prob_of_pre_tanh(u, (u - mean) / log_std.exp(), log_std)

    def forward(
        self, obs: torch.Tensor, deterministic: bool = False, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(action, log_prob)``; ``log_prob`` has shape ``(B,)`` and includes the tanh correction."""
        return self.sample(*self._mean_log_std(obs), deterministic, generator)

    def log_prob(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """``log pi(action | obs)`` of given actions; actions on the bounds are pulled ``BOUND_EPS`` inside."""
        return self.log_prob_under(*self._mean_log_std(obs), action)

    @torch.no_grad()
    def act(
        self, obs: torch.Tensor, deterministic: bool = False, generator: torch.Generator | None = None, noise: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Action only (no log-prob): the collection hot path. ``noise`` (standard normal, shape of
        the action batch) replaces drawing from ``generator``."""
        mean, log_std = self._mean_log_std(obs)
        if not deterministic:
            mean = mean + self._noise(mean.shape, mean, generator, noise) * log_std.exp()
        return torch.tanh(mean) * self.action_scale + self.action_bias


class GaussianActor(_BoxActor):
    """Unsquashed Gaussian ``N(mu(s), diag(exp(log_std)))`` with a state-independent, learned log-std
    (the PPO parametrization of Schulman et al. 2017 and CleanRL/SB3).

    Its samples can leave the action box: collection clips what the env receives
    (:class:`lit_irl.data.collect.EnvRunner`) while the learner keeps the sample, whose log-density
    PPO's ratio needs. Hidden layers are orthogonally initialised (gain sqrt 2), the mean's output
    layer with gain 0.01 (near-zero initial actions), as the PPO reference implementations do.
    """

    bounded = False

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        hidden: Sequence[int],
        action_low: torch.Tensor,
        action_high: torch.Tensor,
        act: str = "tanh",
        normalize_obs: bool = False,
        init_log_std: float = 0.0,
    ) -> None:
        super().__init__(obs_dim, act_dim, action_low, action_high, normalize_obs)
        self.net = mlp(obs_dim, hidden, act_dim, act)
        orthogonal_init(self.net, output_gain=0.01)
        self.log_std = nn.Parameter(torch.full((act_dim,), float(init_log_std)))
        self._spec_args = {"hidden": list(hidden), "act": act, "normalize_obs": normalize_obs, "init_log_std": init_log_std}

    def _mean_log_std(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = self.net(self._features(obs))
        return mean, self.log_std.clamp(LOG_STD_MIN, LOG_STD_MAX).expand_as(mean)

    def forward(
        self, obs: torch.Tensor, deterministic: bool = False, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_std = self._mean_log_std(obs)
        noise = torch.zeros_like(mean) if deterministic else self._noise(mean.shape, mean, generator, None)
        return mean + noise * log_std.exp(), gaussian_log_density(noise, log_std)

    def log_prob(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        mean, log_std = self._mean_log_std(obs)
        return gaussian_log_density((action - mean) / log_std.exp(), log_std)

    def entropy(self, obs: torch.Tensor) -> torch.Tensor:
        """Exact entropy per state, ``(B,)`` (PPO's entropy bonus); state-independent, so no forward pass."""
        log_std = self.log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)
        return (log_std + 0.5 * math.log(2 * math.pi * math.e)).sum(-1).expand(obs.shape[:-1])

    @torch.no_grad()
    def act(
        self, obs: torch.Tensor, deterministic: bool = False, generator: torch.Generator | None = None, noise: torch.Tensor | None = None
    ) -> torch.Tensor:
        mean = self.net(self._features(obs))  # the collection hot path: no per-state log-std to expand
        if deterministic:
            return mean
        return torch.addcmul(mean, self._noise(mean.shape, mean, generator, noise), self.log_std.clamp(LOG_STD_MIN, LOG_STD_MAX).exp())


class DeterministicActor(_BoxActor):
    """``a = scale * tanh(mu(s)) + bias``: BC's mean-squared-error head.

    As a distribution it is ``N(a; mu_box(s), std^2 I)`` with a fixed ``std`` (in action units):
    BC's MSE is then its negative log-likelihood up to a constant, and :meth:`log_prob` is finite for
    any action. Sampled actions add that noise and are clipped to the box; ``deterministic`` returns
    the mean (how BC policies are evaluated).
    """

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        hidden: Sequence[int],
        action_low: torch.Tensor,
        action_high: torch.Tensor,
        act: str = "relu",
        normalize_obs: bool = False,
        std: float = 0.1,
    ) -> None:
        super().__init__(obs_dim, act_dim, action_low, action_high, normalize_obs)
        if std <= 0:
            raise LitIRLError(f"DeterministicActor std must be > 0, got {std}")
        self.net = mlp(obs_dim, hidden, act_dim, act)
        self.std = float(std)
        self._spec_args = {"hidden": list(hidden), "act": act, "normalize_obs": normalize_obs, "std": std}

    def mean_action(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(self._features(obs))) * self.action_scale + self.action_bias

    def forward(
        self, obs: torch.Tensor, deterministic: bool = False, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        mean = self.mean_action(obs)
        noise = torch.zeros_like(mean) if deterministic else self._noise(mean.shape, mean, generator, None)
        return mean + noise * self.std, gaussian_log_density(noise, math.log(self.std))

    def log_prob(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return gaussian_log_density((action - self.mean_action(obs)) / self.std, math.log(self.std))

    @torch.no_grad()
    def act(
        self, obs: torch.Tensor, deterministic: bool = False, generator: torch.Generator | None = None, noise: torch.Tensor | None = None
    ) -> torch.Tensor:
        mean = self.mean_action(obs)
        if deterministic:
            return mean
        sample = mean + self._noise(mean.shape, mean, generator, noise) * self.std
        return torch.maximum(torch.minimum(sample, self.action_bias + self.action_scale), self.action_bias - self.action_scale)


ACTOR_CLASSES = (TanhGaussianActor, GaussianActor, DeterministicActor)


def orthogonal_init(net: nn.Sequential, output_gain: float, hidden_gain: float = math.sqrt(2)) -> None:
    """Orthogonal weights and zero biases (the PPO reference initialization)."""
    linears = [m for m in net if isinstance(m, nn.Linear)]
    for index, layer in enumerate(linears):
        nn.init.orthogonal_(layer.weight, output_gain if index == len(linears) - 1 else hidden_gain)
        nn.init.zeros_(layer.bias)


def build_actor(spec: dict[str, Any]) -> nn.Module:
    """An actor from :meth:`spec` (exported policies, checkpoints): only lit_irl's own actor classes."""
    module_name, _, class_name = str(spec.get("class_path", "")).rpartition(".")
    known = {f"{cls.__module__}.{cls.__qualname__}": cls for cls in ACTOR_CLASSES}
    cls = known.get(spec.get("class_path"))
    if cls is None:
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError, ValueError):
            raise LitIRLError(f"unknown actor class {spec.get('class_path')!r}; known: {', '.join(known)}") from None
    args = dict(spec["init_args"])
    args["action_low"], args["action_high"] = torch.tensor(args["action_low"]), torch.tensor(args["action_high"])
    return cls(**args)
