"""The AIHF papers' static examples (card aihf.md section 3), exactly, through the reward-step code
the MuJoCo learner uses (:func:`lit_irl.rewards.aihf_loss`): a tabular reward over N one-step
"trajectories" (actions), the exact softmax policy pi(a) = exp(R_a / beta) / sum exp(R / beta) as the
policy step, and the agent side of the demonstration term as the exact expectation under it."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from tensordict import TensorDict

from lit_irl.rewards import aihf_loss, preferred_and_rejected


class TabularReward(torch.nn.Module):
    def __init__(self, actions: int) -> None:
        super().__init__()
        self.table = torch.nn.Parameter(torch.zeros(actions, dtype=torch.float64))

    def forward(self, batch: TensorDict) -> torch.Tensor:
        return self.table[batch["action"]]


def one_step(actions: torch.Tensor) -> TensorDict:
    """Trajectories of one step: ``(N, 1)``."""
    return TensorDict({"action": actions.reshape(-1, 1)}, batch_size=[len(actions), 1])


def pairs_of(counts: dict[tuple[int, int], int]) -> TensorDict:
    """``counts[(w, l)]`` comparisons where action w was preferred to action l (label 1 = a)."""
    winners = torch.tensor([w for (w, _), n in counts.items() for _ in range(n)])
    losers = torch.tensor([l for (_, l), n in counts.items() for _ in range(n)])
    return TensorDict({"a": one_step(winners), "b": one_step(losers), "label": torch.ones(len(winners))}, batch_size=[len(winners)])


def fit(actions: int, demos: torch.Tensor | None, pairs: TensorDict | None, w1: float, beta: float = 1.0, steps: int = 400,
        lr: float | None = None) -> np.ndarray:
    """Algorithm 1 on the static model: exact policy step, then one reward step (gradient descent with a
    step size below 2 / curvature, so that it converges), repeated; returns pi."""
    reward = TabularReward(actions)
    optimizer = torch.optim.SGD(reward.parameters(), lr=lr or 2.0 * beta**2 / (1.0 + w1))
    everything = one_step(torch.arange(actions))
    expert = one_step(demos) if demos is not None else None
    for _ in range(steps):
        policy = torch.softmax(reward.table.detach() / beta, 0)  # the exact soft-optimal policy of R (T = 1)
        preferred, rejected = preferred_and_rejected(pairs, reward, 1.0) if pairs is not None else (None, None)
        loss, _ = aihf_loss(
            reward(everything) if w1 > 0 else None, reward(expert) if w1 > 0 else None, preferred, rejected,
            w1=w1, gamma=1.0, temperature=beta, agent_weights=policy,
        )  # fmt: skip
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return torch.softmax(reward.table.detach() / beta, 0).numpy()


def rlhf(sft: np.ndarray, preference_policy: np.ndarray) -> np.ndarray:
    """pi_RLHF ∝ pi_SFT exp(R_P / beta): KL-regularized RL on the BT reward from the SFT policy."""
    tilted = sft * preference_policy
    return tilted / tilted.sum()


# Example 1a: demonstrations 50/50, preferences 6:4. Example 1b: the mirror.
EXAMPLES = {
    "1a": ({0: 50, 1: 50}, {(0, 1): 6, (1, 0): 4}, {"sft": 0.5, "rlhf": 0.6, "bt": 0.6}),
    "1b": ({0: 6, 1: 4}, {(0, 1): 50, (1, 0): 50}, {"sft": 0.6, "rlhf": 0.6, "bt": 0.5}),
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_two_action_examples(name: str):
    demo_counts, preference_counts, expected = EXAMPLES[name]
    demos = torch.tensor([a for a, n in demo_counts.items() for _ in range(n)])
    pairs = pairs_of(preference_counts)
    sft = np.array([demo_counts[0], demo_counts[1]]) / len(demos)
    preference_only = fit(2, None, pairs, w1=0.0)
    assert sft[0] == pytest.approx(expected["sft"])
    assert preference_only[0] == pytest.approx(expected["bt"], abs=1e-6)
    assert rlhf(sft, preference_only)[0] == pytest.approx(expected["rlhf"], abs=1e-6)
    # AIHF, means in both terms with w1 = |D| / |P|: the count-weighted optimum 56/110 of both examples
    aihf = fit(2, demos, pairs, w1=len(demos) / len(pairs))
    assert aihf[0] == pytest.approx(56 / 110, abs=1e-6)
    # the general law pi_1 = (w1 f_D + f_P) / (1 + w1)
    f_demos, f_prefs = sft[0], preference_counts[(0, 1)] / len(pairs)
    for w1 in (1.0, 0.25, 4.0):
        assert fit(2, demos, pairs, w1=w1)[0] == pytest.approx((w1 * f_demos + f_prefs) / (1 + w1), abs=1e-6)
    # beta in the policy and the BT term (sigmoid((R_w - R_l) / beta)): the likelihood's exact gradient carries
    # 1 / beta (v2 eq. 37), which w1 absorbs (the loss), so the optimum is the law at w1 * beta
    for beta in (0.5, 2.0):
        w1 = len(demos) / len(pairs)
        assert fit(2, demos, pairs, w1=w1, beta=beta)[0] == pytest.approx((w1 * beta * f_demos + f_prefs) / (1 + w1 * beta), abs=1e-6)
        assert fit(2, demos, pairs, w1=w1 / beta, beta=beta)[0] == pytest.approx(56 / 110, abs=1e-6)


def test_gradient_at_zero_reward():
    """Example 1a's count-weighted objective at R = 0 has gradient +1 / -1 (card 3.1); with means, w1 = |D|/|P|,
    it is that divided by |P|."""
    reward = TabularReward(2)
    demos = torch.tensor([0] * 50 + [1] * 50)
    pairs = pairs_of({(0, 1): 6, (1, 0): 4})
    preferred, rejected = preferred_and_rejected(pairs, reward, 1.0)
    loss, _ = aihf_loss(reward(one_step(torch.arange(2))), reward(one_step(demos)), preferred, rejected, w1=10.0, gamma=1.0,
                        agent_weights=torch.full((2,), 0.5, dtype=torch.float64))
    loss.backward()
    np.testing.assert_allclose(-reward.table.grad.numpy() * len(pairs), [1.0, -1.0], atol=1e-12)


def test_coverage_example_fifty_actions():
    """Demonstrations on actions 1..45 only, preferences on every pair (card 3.5, s = 2, mu = 0.5)."""
    rng = np.random.default_rng(0)
    index = np.arange(1, 51)
    true_reward = np.exp(-((index / 50 - 0.5) ** 2) / (2 * 2.0**2)) / (2.0 * math.sqrt(2 * math.pi))
    truth = np.exp(true_reward) / np.exp(true_reward).sum()
    covered = np.exp(true_reward[:45]) / np.exp(true_reward[:45]).sum()
    demos = torch.from_numpy(rng.choice(45, size=2000, p=covered))
    counts = {}
    for i in range(50):
        for j in range(i + 1, 50):
            wins = rng.binomial(200, np.exp(true_reward[i]) / (np.exp(true_reward[i]) + np.exp(true_reward[j])))
            counts[(i, j)], counts[(j, i)] = wins, 200 - wins
    pairs = pairs_of(counts)
    sft = np.bincount(demos.numpy(), minlength=50) / len(demos)
    preference_only = fit(50, None, pairs, w1=0.0, steps=150, lr=100.0)
    aihf = fit(50, demos, pairs, w1=len(demos) / len(pairs), steps=150, lr=100.0)
    uncovered = slice(45, 50)
    assert sft[uncovered].sum() == 0.0 and rlhf(sft, preference_only)[uncovered].sum() == 0.0
    assert aihf[uncovered].sum() > 0.09, "AIHF keeps the mass the demonstrations never show"
    assert 0.5 * np.abs(aihf - truth).sum() < 0.012
    assert 0.5 * np.abs(rlhf(sft, preference_only) - truth).sum() > 0.09
