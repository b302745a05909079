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


def test_gae_by_hand():
    """gamma 1, lambda 0.95 on one 3-token response (the card's hand-computed vector)."""
    from lit_irl.sequence.policy_steps import token_advantages

    rewards = torch.tensor([[0.0, -0.1, 1.0]], dtype=torch.float64)
    values = torch.tensor([[0.5, 0.2, 0.4]], dtype=torch.float64)
    deltas = [0.0 + 0.2 - 0.5, -0.1 + 0.4 - 0.2, 1.0 + 0.0 - 0.4]  # r_h + V_{h+1} - V_h, no bootstrap after the last token
    a2 = deltas[2]
    a1 = deltas[1] + 0.95 * a2
    a0 = deltas[0] + 0.95 * a1
    advantages, returns = token_advantages(rewards, values, gamma=1.0, lam=0.95)
    torch.testing.assert_close(advantages, torch.tensor([[a0, a1, a2]], dtype=torch.float64))
    torch.testing.assert_close(returns, advantages + values)
    lam_one, _ = token_advantages(rewards, values, gamma=1.0, lam=1.0)  # Monte-Carlo return minus V
    torch.testing.assert_close(lam_one, rewards.flip(-1).cumsum(-1).flip(-1) - values)


def test_the_ppo_clip_masks_the_gradient_outside_the_trust_region():
    """The clipped surrogate has zero gradient where the ratio left [1 - eps, 1 + eps] in the advantage's
    direction, and the plain ratio gradient A * rho elsewhere (card check 11b)."""
    from lit_irl.sequence.model import TinyTransformer, TransformerConfig
    from lit_irl.sequence.policy_steps import PPOConfig, TokenPPO

    torch.manual_seed(0)
    model = TransformerConfig(vocab=4, context=8, width=16, layers=1, heads=2)
    policy, critic = TinyTransformer(model), TinyTransformer(model)
    prompts, responses = torch.randint(0, 4, (2, 2)), torch.randint(0, 4, (2, 4))
    ppo = TokenPPO(PPOConfig(clip=0.2, value_coef=0.0, whiten=False), beta=0.1)
    with torch.no_grad():
        new = policy.response_log_probs(prompts, responses)
    old = new - torch.tensor([[0.0, 0.5, -0.5, 0.1], [0.3, -0.3, 0.0, 0.05]])  # ratios e^0, e^0.5, e^-0.5, ...
    advantages = torch.tensor([[1.0, 1.0, -1.0, -1.0], [-1.0, 1.0, 2.0, 1.0]])
    ppo.rollout = {"prompts": prompts, "responses": responses, "log_probs": old, "values": torch.zeros(2, 4), "advantages": advantages,
                   "returns": torch.zeros(2, 4), "order": torch.arange(2)[None]}  # fmt: skip
    loss, _ = ppo.loss(policy, critic)
    ratio = (new - old).exp()
    outside = ((ratio > 1.2) & (advantages > 0)) | ((ratio < 0.8) & (advantages < 0))
    assert outside.tolist() == [[False, True, True, False], [False, False, False, False]]
    d_loss_d_log_prob = torch.where(outside, 0.0, -advantages * ratio / advantages.numel())  # by hand
    params = list(policy.parameters())
    ours = torch.autograd.grad(loss, params, allow_unused=True)
    by_hand = torch.autograd.grad((d_loss_d_log_prob * policy.response_log_probs(prompts, responses)).sum(), params, allow_unused=True)
    for a, b in zip(ours, by_hand):
        if a is not None or b is not None:
            torch.testing.assert_close(a, b)


class _Categorical:
    """A stand-in policy over a few whole responses (one token each) with known probabilities."""

    def __init__(self, probs: torch.Tensor) -> None:
        self.probs = probs

    def sample(self, prompts: torch.Tensor, horizon: int, generator: torch.Generator) -> torch.Tensor:
        return torch.multinomial(self.probs, prompts.shape[0], replacement=True, generator=generator)[:, None]


def test_best_of_n_draws_its_law_and_respects_the_kl_bound():
    """P(y_(i)) = F_i^N - F_{i-1}^N over responses ordered by reward, and KL(BoN || pi) <= log N - (N - 1) / N (card 13a/13b)."""
    from lit_irl.sequence.policy_steps import best_of_n

    probs = torch.tensor([0.4, 0.3, 0.2, 0.1], dtype=torch.float64)
    reward = torch.tensor([0.0, 2.0, 1.0, 3.0])  # order by reward: 0, 2, 1, 3
    n, draws = 4, 40_000
    chosen = best_of_n(_Categorical(probs), torch.zeros(draws, 1, dtype=torch.long), 1, n, lambda p, y: reward[y[:, 0]], torch.Generator().manual_seed(0))
    order = reward.argsort()
    cdf = probs[order].cumsum(0)
    law = torch.empty(4, dtype=torch.float64)
    law[order] = cdf**n - torch.cat([torch.zeros(1, dtype=torch.float64), cdf[:-1]]) ** n
    frequency = torch.bincount(chosen[:, 0], minlength=4).double() / draws
    torch.testing.assert_close(frequency, law, atol=0.01, rtol=0)
    kl = float((law * (law / probs).log()).sum())
    assert kl <= math.log(n) - (n - 1) / n
