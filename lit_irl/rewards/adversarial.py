"""Discriminator losses and rewards of the adversarial imitation methods (GAIL, AIRL), as pure functions.

A discriminator outputs a logit ``l(x) = log D(x) - log(1 - D(x))``, ``D`` the probability that
``x`` came from the expert (label 1). The policy's reward is one of :data:`REWARD_FORMS`; each one
biases episodes that can end early differently (with plain termination a fall forfeits every later
reward):

- ``log_d``: ``log D = -softplus(-l) <= 0``, a penalty every step: ending early pays (rl_swiss, the
  f-IRL repo; the thesis' GAIL);
- ``neg_log_one_minus_d``: ``-log(1 - D) = softplus(l) >= 0``, a bonus every step: surviving pays
  (imitation);
- ``logit``: ``l`` itself, either sign (DAC, AIRL's ``f - log pi``).

Fixed-horizon or absorbing-state termination removes the bias (``env.termination``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from tensordict import TensorDict, TensorDictBase

from lit_irl.errors import LitIRLError

REWARD_FORMS = ("log_d", "neg_log_one_minus_d", "logit")


def check_reward_form(form: str) -> None:
    if form not in REWARD_FORMS:
        raise LitIRLError(f"reward_form must be one of {', '.join(REWARD_FORMS)}, got {form!r}")


def discriminator_loss(expert_logits: torch.Tensor, agent_logits: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Binary cross-entropy, expert labelled 1: ``-mean log D(expert) - mean log(1 - D(agent))``."""
    expert_term, agent_term = F.softplus(-expert_logits).mean(), F.softplus(agent_logits).mean()
    loss = expert_term + agent_term
    accuracy = 0.5 * ((expert_logits > 0).float().mean() + (agent_logits < 0).float().mean())
    return loss, {
        "discriminator/loss": loss.detach(), "discriminator/accuracy": accuracy.detach(),
        "discriminator/expert_d": torch.sigmoid(expert_logits).mean().detach(), "discriminator/agent_d": torch.sigmoid(agent_logits).mean().detach(),
    }  # fmt: skip


def gradient_penalty(
    logits: Callable[[TensorDictBase], torch.Tensor], expert: TensorDictBase, agent: TensorDictBase, keys: Sequence[str],
    generator: torch.Generator | None = None, carry: Sequence[str] = (), input_scale: Mapping[str, torch.Tensor] | None = None,
) -> torch.Tensor:
    """``mean (||grad_x l(x_hat)|| - 1)^2`` at ``x_hat = eps x_E + (1 - eps) x_A``, ``eps ~ U(0, 1)`` per row
    (Gulrajani et al. 2017, as GAIL / AIRL implementations regularize their discriminators); ``keys``
    are the inputs interpolated and differentiated (``obs``, ``action``, ...), ``carry`` further keys
    the logit reads, taken from the agent rows. ``input_scale``: per key, the std by which the model
    standardizes that input; the gradient is then taken with respect to the standardized input
    (``std`` times the raw one), as the reference codes do whose data are standardized up front."""
    eps = torch.rand(expert.shape[0], 1, generator=generator).to(expert.device)
    mixed = {key: (eps * expert[key] + (1 - eps) * agent[key]).requires_grad_(True) for key in keys}
    output = logits(TensorDict({**mixed, **{key: agent[key] for key in carry}}, batch_size=expert.batch_size))
    grads = torch.autograd.grad(output.sum(), list(mixed.values()), create_graph=True)
    scale = input_scale or {}
    grads = [g * scale[key] if key in scale else g for key, g in zip(mixed, grads, strict=True)]
    norm = torch.cat([g.reshape(g.shape[0], -1) for g in grads], -1).norm(dim=-1)
    return (norm - 1.0).pow(2).mean()


def reward_from_logits(logits: torch.Tensor, form: str) -> torch.Tensor:
    """The policy's reward of :data:`REWARD_FORMS` from discriminator logits."""
    if form == "log_d":
        return -F.softplus(-logits)
    if form == "neg_log_one_minus_d":
        return F.softplus(logits)
    if form == "logit":
        return logits
    raise LitIRLError(f"reward_form must be one of {', '.join(REWARD_FORMS)}, got {form!r}")


def airl_shaped(g: torch.Tensor, h_obs: torch.Tensor, h_next_obs: torch.Tensor, terminated: torch.Tensor, gamma: float) -> torch.Tensor:
    """AIRL's ``f(s, s') = g(s) + gamma (1 - done) h(s') - h(s)`` (a terminal state's potential is 0)."""
    return g + gamma * (~terminated.bool()).to(g.dtype) * h_next_obs - h_obs
