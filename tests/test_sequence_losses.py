"""The sequence losses against the reference card's closed forms (§4.3), on enumerable response sets."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lit_irl.sequence.losses import dpo_loss, irl_reward_loss, kl_regularized_policy, spin_loss

RNG = np.random.default_rng(0)
Y, BETA = 7, 0.7
PREF = torch.tensor(RNG.dirichlet(np.ones(Y)))
REWARD = torch.tensor(RNG.normal(size=Y))
P_DATA = torch.tensor(RNG.dirichlet(np.ones(Y)))


def pairs(p: torch.Tensor, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every ordered pair (y, y') with weight p(y) q(y')."""
    chosen, rejected = torch.meshgrid(torch.arange(Y), torch.arange(Y), indexing="ij")
    return chosen.flatten(), rejected.flatten(), (p[:, None] * q[None, :]).flatten()


def test_the_kl_regularized_optimum_attains_beta_log_z():
    optimum = kl_regularized_policy(PREF.log(), REWARD, BETA).exp()

    def value(p: torch.Tensor) -> float:
        return float((p * REWARD).sum() - BETA * (p * (p / PREF).log()).sum())

    log_z = torch.logsumexp(PREF.log() + REWARD / BETA, 0)
    assert value(optimum) == pytest.approx(BETA * float(log_z), abs=1e-12)
    assert max(value(torch.tensor(RNG.dirichlet(np.ones(Y)))) for _ in range(500)) < value(optimum)


def test_the_linear_reward_loss_is_the_likelihood_gradient_and_logsigmoid_half_of_it():
    """Lemma 17 with beta: grad E_D log pi*_theta = (E_D grad r - E_pi* grad r) / beta = -grad(linear loss) / beta;
    at r = 0 the log-sigmoid loss's gradient is -1/2 of the exact direction."""
    features = torch.tensor(RNG.normal(size=(Y, 3)))
    theta = torch.tensor(RNG.normal(size=3), requires_grad=True)
    likelihood = (P_DATA * kl_regularized_policy(PREF.log(), features @ theta, BETA)).sum()
    (exact,) = torch.autograd.grad(likelihood, theta)
    with torch.no_grad():
        policy = kl_regularized_policy(PREF.log(), features @ theta, BETA).exp()
    chosen, rejected, weights = pairs(P_DATA, policy)
    reward = features @ theta
    (linear,) = torch.autograd.grad(irl_reward_loss(reward[chosen], reward[rejected], "linear", weights), theta)
    torch.testing.assert_close(-linear / BETA, exact, atol=1e-12, rtol=0)
    zero = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    chosen, rejected, weights = pairs(P_DATA, PREF)  # at r = 0, pi* = pi_ref
    (bt,) = torch.autograd.grad(irl_reward_loss((features @ zero)[chosen], (features @ zero)[rejected], "logsigmoid", weights), zero)
    torch.testing.assert_close(bt, -0.5 * (P_DATA @ features - PREF @ features), atol=1e-12, rtol=0)


def _bt_refit(p_chosen: torch.Tensor, p_rejected: torch.Tensor) -> torch.Tensor:
    """argmin of the log-sigmoid reward loss over a tabular reward (the paper's re-fit)."""
    reward = torch.zeros(Y, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([reward], max_iter=500, tolerance_grad=1e-12, tolerance_change=1e-14, line_search_fn="strong_wolfe")
    chosen, rejected, weights = pairs(p_chosen, p_rejected)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = irl_reward_loss(reward[chosen], reward[rejected], "logsigmoid", weights) + 1e-8 * reward.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return reward.detach() - reward.detach().mean()


def test_refit_rewards_need_the_previous_iterate_as_reference():
    """Alg. 12 read literally (re-fit reward, KL to a fixed pi_ref) has no fixed point; with the previous
    iterate as reference (the authors' code, preset irl_paper) it converges to the demonstrations' law."""

    def run(reference: str, iterations: int = 25) -> float:
        policy = PREF.clone()
        for _ in range(iterations):
            reward = _bt_refit(P_DATA, policy)
            base = PREF if reference == "fixed" else policy
            policy = kl_regularized_policy(base.log(), reward, BETA).exp()
        return 0.5 * float((policy - P_DATA).abs().sum())

    assert run("previous_iterate") < 1e-3
    assert run("fixed") > 1e-2


def test_dpo_coverage_and_full_coverage_equivalence():
    """Table 4.1: pi_ref = (.5, .5, 0), one pair y1 > y2: DPO's loss vanishes for (a, 0, 1 - a), mass outside
    pi_ref's support; with every pair covered, DPO's optimum is RLHF's pi_ref exp(r_BT / beta)."""
    reference = torch.tensor([0.5, 0.5, 1e-300], dtype=torch.float64).log()
    for a in (0.1, 0.5, 0.999):
        policy = torch.tensor([a, 1e-9, 1 - a - 1e-9], dtype=torch.float64).log()
        assert dpo_loss(policy[:1], policy[1:2], reference[:1], reference[1:2], 1.0).item() < 2e-8
    # full coverage: every ordered pair, labelled by a Bradley-Terry law on REWARD
    logits = torch.zeros(Y, dtype=torch.float64, requires_grad=True)
    chosen, rejected, _ = pairs(P_DATA, P_DATA)
    keep = chosen != rejected
    chosen, rejected = chosen[keep], rejected[keep]
    win = torch.sigmoid(REWARD[chosen] - REWARD[rejected]) / len(chosen)
    optimizer = torch.optim.LBFGS([logits], max_iter=1000, tolerance_grad=1e-12, tolerance_change=1e-15, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        log_policy = torch.log_softmax(logits, 0)
        loss = dpo_loss(log_policy[chosen], log_policy[rejected], PREF.log()[chosen], PREF.log()[rejected], BETA, weights=win)
        loss.backward()
        return loss

    optimizer.step(closure)
    rlhf = kl_regularized_policy(PREF.log(), REWARD, BETA).exp()
    torch.testing.assert_close(torch.softmax(logits.detach(), 0), rlhf, atol=1e-6, rtol=0)


def test_spin_gradient_vanishes_at_the_data_law():
    logits = P_DATA.log().clone().requires_grad_(True)
    log_policy = torch.log_softmax(logits, 0)
    previous = log_policy.detach()
    chosen, rejected, weights = pairs(P_DATA, P_DATA)
    loss = spin_loss(log_policy[chosen], log_policy[rejected], previous[chosen], previous[rejected], 1.0, weights)
    (gradient,) = torch.autograd.grad(loss, logits)
    assert gradient.abs().max().item() < 1e-14
    assert math.isfinite(loss.item())
