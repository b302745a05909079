"""Exact oracle for the ML-IRL reward step on a small tabular MDP.

The reward-gradient estimator under test is the project's own code path (``RewardModel`` +
``ml_irl_loss`` + autograd), fed with trajectories sampled from exact soft-optimal policies. The
reward is linear in a one-hot encoding of (s, a), i.e. a table theta[s, a], for which Lemma 1
(thesis eq. 2.6) gives the exact likelihood gradient
    grad L(theta) = rho_E - rho_{pi_theta},   rho_pi(s, a) = sum_{t<T} gamma^t P_pi(s_t = s, a_t = a),
with pi_theta the soft-optimal policy of r_theta.
"""

from __future__ import annotations

import torch
from tensordict import TensorDict

from lit_irl.rewards import RewardConfig, RewardModel, ml_irl_loss

S, A, T, GAMMA = 5, 3, 40, 0.9


def make_mdp(seed: int = 0):
    torch.manual_seed(seed)  # Dirichlet sampling draws from the global stream
    g = torch.Generator().manual_seed(seed)
    transitions = torch.distributions.Dirichlet(torch.ones(S) * 0.5).sample((S, A))  # (S, A, S)
    initial = torch.distributions.Dirichlet(torch.ones(S)).sample()
    true_reward = torch.randn(S, A, generator=g)
    return transitions.double(), initial.double(), true_reward.double()


def soft_optimal_policy(reward: torch.Tensor, transitions: torch.Tensor, iterations: int = 500, q: torch.Tensor | None = None):
    """Soft value iteration (entropy temperature 1): Q = r + gamma P V, V = logsumexp_a Q, pi = softmax Q."""
    q = torch.zeros(S, A, dtype=torch.float64) if q is None else q
    for _ in range(iterations):
        q = reward + GAMMA * transitions @ torch.logsumexp(q, dim=1)
    return torch.softmax(q, dim=1), q


def visitation(policy: torch.Tensor, transitions: torch.Tensor, initial: torch.Tensor) -> torch.Tensor:
    """rho(s, a) = sum_{t<T} gamma^t P(s_t = s, a_t = a)."""
    state, rho = initial, torch.zeros(S, A, dtype=torch.float64)
    for t in range(T):
        joint = state[:, None] * policy
        rho += GAMMA**t * joint
        state = torch.einsum("sa,sap->p", joint, transitions)
    return rho


def sample(policy, transitions, initial, n: int, generator: torch.Generator) -> torch.Tensor:
    """(n, T) indices s * A + a of trajectories of ``policy``."""
    s = torch.multinomial(initial, n, replacement=True, generator=generator)
    pairs = torch.empty(n, T, dtype=torch.long)
    for t in range(T):
        a = torch.multinomial(policy[s], 1, generator=generator).squeeze(1)
        pairs[:, t] = s * A + a
        s = torch.multinomial(transitions[s, a], 1, generator=generator).squeeze(1)
    return pairs


def as_batch(pairs: torch.Tensor) -> TensorDict:
    return TensorDict({"obs": torch.nn.functional.one_hot(pairs, S * A).float()}, batch_size=pairs.shape)


def tabular_reward() -> RewardModel:
    """theta[s, a] as the project's reward model: linear in the one-hot (s, a) code, no clamp."""
    model = RewardModel(S * A, A, RewardConfig(inputs="s", hidden=[], clamp=None, lr=0.05, weight_decay=0.0))
    torch.nn.init.zeros_(model.net[0].bias)
    return model


def test_reward_gradient_estimator_matches_the_exact_likelihood_gradient():
    transitions, initial, true_reward = make_mdp()
    expert_policy, _ = soft_optimal_policy(true_reward, transitions)
    model = tabular_reward()
    torch.manual_seed(1)
    torch.nn.init.normal_(model.net[0].weight, std=1.0)  # some theta whose policy differs from the expert's
    theta = model.net[0].weight.detach().double().reshape(S, A) + model.net[0].bias.detach().double()
    agent_policy, _ = soft_optimal_policy(theta, transitions)
    exact = (visitation(expert_policy, transitions, initial) - visitation(agent_policy, transitions, initial)).flatten()

    g = torch.Generator().manual_seed(2)
    n = 20_000
    agent, expert = sample(agent_policy, transitions, initial, n, g), sample(expert_policy, transitions, initial, n, g)
    loss, _ = ml_irl_loss(model(as_batch(agent)), model(as_batch(expert)), GAMMA)
    loss.backward()
    estimate = -model.net[0].weight.grad.double().flatten()  # descent on the loss = ascent on the likelihood

    # Standard error per coordinate from the per-trajectory terms h(theta; tau) = sum_t gamma^t e_{s_t a_t}.
    discounts = GAMMA ** torch.arange(T, dtype=torch.float64)
    def per_trajectory(pairs):
        return torch.zeros(pairs.shape[0], S * A, dtype=torch.float64).scatter_add_(1, pairs, discounts.expand(pairs.shape[0], T))
    stderr = (per_trajectory(agent).var(0) / n + per_trajectory(expert).var(0) / n).sqrt()
    z = (estimate - exact) / stderr.clamp(min=1e-12)
    print(f"\nexact gradient norm {exact.norm():.4f}, estimate error norm {(estimate - exact).norm():.4f}, max |z| {z.abs().max():.2f}")
    assert z.abs().max() < 5.0, z
    assert (estimate - exact).norm() < 0.1 * exact.norm()
    assert abs(float(model.net[0].bias.grad)) < 1e-4, "equal-length trajectories: the constant shift has no gradient"


def test_ml_irl_loop_recovers_a_reward_whose_optimal_policy_is_the_experts():
    """Algorithm 1 with a partial policy step: warm-started soft Bellman backups, sampled trajectories, Adam."""
    transitions, initial, true_reward = make_mdp()
    expert_policy, _ = soft_optimal_policy(true_reward, transitions)
    model = tabular_reward()
    optimizer = model.make_optimizer()
    g = torch.Generator().manual_seed(3)
    expert = as_batch(sample(expert_policy, transitions, initial, 5000, g))  # the fixed demonstration set
    q = None
    for _ in range(300):
        theta = (model.net[0].weight.detach().double().reshape(S, A) + model.net[0].bias.detach().double())
        policy, q = soft_optimal_policy(theta, transitions, iterations=10, q=q)  # policy step, warm-started
        agent = as_batch(sample(policy, transitions, initial, 500, g))
        expert_batch = expert[torch.randint(0, 5000, (500,), generator=g)]
        loss, _ = ml_irl_loss(model(agent), model(expert_batch), GAMMA)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    theta = model.net[0].weight.detach().double().reshape(S, A) + model.net[0].bias.detach().double()
    learned_policy, _ = soft_optimal_policy(theta, transitions)
    visited = visitation(expert_policy, transitions, initial).sum(1)
    tv = 0.5 * (learned_policy - expert_policy).abs().sum(1)
    weighted_tv = float((tv * visited).sum() / visited.sum())
    start_tv = float((0.5 * (1 / A - expert_policy).abs().sum(1) * visited).sum() / visited.sum())
    print(f"\ntotal variation to the expert policy: {start_tv:.3f} (uniform start) -> {weighted_tv:.3f}")
    assert weighted_tv < 0.05 and weighted_tv < 0.2 * start_tv
