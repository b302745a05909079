"""Sequence-level losses as pure functions of sequence log-probabilities and rewards (card sequence.md §3).

Each takes one value per pair (or per sequence) and optional ``weights`` (summing to 1) that replace the
mean by an expectation, so that the same code runs on sampled batches and, in the tests, on exact
populations over an enumerable response space.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from lit_irl.errors import LitIRLError


def _mean(values: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    return values.mean() if weights is None else (weights * values).sum()


def irl_reward_loss(
    chosen: torch.Tensor, rejected: torch.Tensor, form: Literal["linear", "logsigmoid"] = "linear", weights: torch.Tensor | None = None
) -> torch.Tensor:
    """The IRL-from-demonstrations reward step, to minimize, on pairs (chosen = a demonstration,
    rejected = the current policy's response to the same prompt):

    - ``linear``: ``-mean(r_chosen - r_rejected)``: with rejected ~ pi*_theta its gradient is the exact
      likelihood ascent direction (thesis Lemma 17, times beta): ML-IRL;
    - ``logsigmoid``: ``-mean log sigmoid(r_chosen - r_rejected)`` (paper 001 eq. 11): a bounded
      surrogate, -1/2 of the exact direction at a constant reward, biased towards the reference when
      warm-started (card §1.5).
    """
    margin = chosen - rejected
    if form == "linear":
        return -_mean(margin, weights)
    if form == "logsigmoid":
        return -_mean(F.logsigmoid(margin), weights)
    raise LitIRLError(f"reward_loss must be linear or logsigmoid, got {form!r}")


def preference_log_ratio_loss(
    logp_preferred: torch.Tensor, logp_rejected: torch.Tensor, ref_preferred: torch.Tensor, ref_rejected: torch.Tensor, beta: float,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """``-mean log sigmoid(beta log pi(y_w)/pi_ref(y_w) - beta log pi(y_l)/pi_ref(y_l))``: DPO's loss
    (Rafailov et al. 2023, thesis 4.18) and, with the previous iterate as reference, demonstrations as
    y_w and the iterate's own samples as y_l, SPIN's (thesis 4.11-4.12)."""
    if beta <= 0:
        raise LitIRLError(f"beta must be > 0, got {beta}")
    margin = beta * (logp_preferred - ref_preferred) - beta * (logp_rejected - ref_rejected)
    return -_mean(F.logsigmoid(margin), weights)


dpo_loss = preference_log_ratio_loss
spin_loss = preference_log_ratio_loss


def aihf_dpo_loss(
    logp_demonstrations: torch.Tensor, logp_preferred: torch.Tensor, logp_rejected: torch.Tensor, ref_preferred: torch.Tensor,
    ref_rejected: torch.Tensor, w1: float, beta: float,
) -> torch.Tensor:
    """AIHF-DPO in its clean form (card aihf.md §1.3): ``-w1 mean log pi(y_E | x) + DPO``; ``w1 = 0`` is DPO."""
    if w1 < 0:
        raise LitIRLError(f"w1 must be >= 0, got {w1}")
    return -w1 * logp_demonstrations.mean() + preference_log_ratio_loss(logp_preferred, logp_rejected, ref_preferred, ref_rejected, beta)


def kl_regularized_policy(log_reference: torch.Tensor, reward: torch.Tensor, beta: float) -> torch.Tensor:
    """``log pi*`` of ``max_pi E_pi[r] - beta KL(pi || pi_ref)`` over an enumerated response set:
    ``log pi_ref + r / beta - log Z`` (thesis 4.15)."""
    return torch.log_softmax(log_reference + reward / beta, -1)
