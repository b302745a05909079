"""EPIC's invariances on a tabular MDP, and the MuJoCo true rewards it compares learned rewards with."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tensordict import TensorDict

from lit_irl.data.rollout import load_policy, rollout
from lit_irl.envs import EnvConfig
from lit_irl.envs.true_reward import true_reward_of
from lit_irl.errors import LitIRLError
from lit_irl.rewards.epic import coverage_transitions, epic_distance, pearson_distance

N_STATES, N_ACTIONS, GAMMA = 6, 3, 0.9


def tabular(table: torch.Tensor):
    """A reward ``table[s, a, s']`` read from one-hot observations and actions."""

    def reward(batch):
        return table[batch["obs"].argmax(-1), batch["action"].argmax(-1), batch["next_obs"].argmax(-1)]

    return reward


@pytest.fixture
def mdp():
    generator = torch.Generator().manual_seed(0)
    true = torch.randn(N_STATES, N_ACTIONS, N_STATES, generator=generator, dtype=torch.float64)
    potential = 10 * torch.randn(N_STATES, generator=generator, dtype=torch.float64)
    s, a, s_next = (torch.arange(n) for n in (N_STATES, N_ACTIONS, N_STATES))
    grid = torch.cartesian_prod(s, a, s_next)
    one_hot = torch.eye(N_STATES, dtype=torch.float64)
    coverage = TensorDict(
        obs=one_hot[grid[:, 0]], action=torch.eye(N_ACTIONS, dtype=torch.float64)[grid[:, 1]], next_obs=one_hot[grid[:, 2]], batch_size=[len(grid)]
    )
    shaping = GAMMA * potential[None, None, :] - potential[:, None, None]
    return true, shaping, coverage, dict(states=one_hot, actions=torch.eye(N_ACTIONS, dtype=torch.float64))


@pytest.mark.parametrize("samples", [None, 64])
def test_epic_is_zero_under_shaping_and_scaling_and_one_under_negation(mdp, samples):
    true, shaping, coverage, sets = mdp

    def distance(other: torch.Tensor) -> float:
        return epic_distance(tabular(true), tabular(other), coverage, GAMMA, canonical_samples=samples, **sets)

    # Shaping moves raw correlation far from 1; EPIC does not see it (exact or sampled expectations).
    assert pearson_distance(true.flatten(), (true + shaping).flatten()) > 0.2
    assert distance(true + shaping) == pytest.approx(0.0, abs=1e-6)
    assert distance(3.0 * true + 5.0) == pytest.approx(0.0, abs=1e-6)
    assert distance(0.5 * (true + shaping) - 2.0) == pytest.approx(0.0, abs=1e-6)
    assert distance(-true) == pytest.approx(1.0, abs=1e-6)
    assert distance(-(true + shaping)) == pytest.approx(1.0, abs=1e-6)
    unrelated = torch.randn(true.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert 0.3 < distance(unrelated) < 0.95


def test_sampled_canonicalization_approaches_the_exact_one(mdp):
    true, _, coverage, sets = mdp
    other = true + 0.5 * torch.randn(true.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    exact = epic_distance(tabular(true), tabular(other), coverage, GAMMA, canonical_samples=None, **sets)
    sampled = epic_distance(tabular(true), tabular(other), coverage, GAMMA, canonical_samples=4096, **sets)
    assert 0.05 < exact < 0.6
    assert sampled == pytest.approx(exact, abs=0.02)


def test_epic_input_errors(mdp):
    true, _, coverage, sets = mdp
    with pytest.raises(LitIRLError, match="gamma must be in"):
        epic_distance(tabular(true), tabular(true), coverage, 1.5)
    with pytest.raises(LitIRLError, match="keys obs, action, next_obs"):
        epic_distance(tabular(true), tabular(true), coverage.exclude("action"), GAMMA)
    with pytest.raises(LitIRLError, match="constant"):
        epic_distance(tabular(true), tabular(torch.ones_like(true)), coverage, GAMMA, **sets)


@pytest.mark.parametrize("env_id", ["Pendulum-v1", "Hopper-v5"])
def test_true_reward_rewrite_matches_the_env(env_id):
    """The (s, a, s') rewrite of the env's reward, on expert and random steps of the real env."""
    expert = load_policy(f"zoo/{env_id}/expert.pt").actor
    for actor in (expert, None):
        data = rollout(EnvConfig(env_id), actor, transitions=400, seed=3, record_physics=False)
        batch = TensorDict(
            obs=torch.from_numpy(data.observations), action=torch.from_numpy(data.actions), next_obs=torch.from_numpy(data.next_observations),
            batch_size=[len(data)],
        )
        rewritten = true_reward_of(env_id)(batch).numpy()
        assert np.corrcoef(rewritten, data.rewards)[0, 1] > 0.999
        assert np.abs(rewritten - data.rewards).mean() < 0.01
    assert true_reward_of("CustomAnt-v0") is None


def test_true_reward_is_at_epic_zero_from_the_env_reward_and_a_learned_guess_is_not():
    env = EnvConfig("Hopper-v5")
    expert = load_policy("zoo/Hopper-v5/expert.pt")
    demos = rollout(env, expert.actor, transitions=300, seed=4, record_physics=False)
    coverage = coverage_transitions(env, demos, expert.actor, per_source=200, seed=5)
    assert coverage.shape[0] == 600 and set(coverage["source"].tolist()) == {0, 1, 2}
    true = true_reward_of("Hopper-v5")
    assert epic_distance(true, lambda b: 2.0 * true(b) - 1.0, coverage, 0.99) == pytest.approx(0.0, abs=1e-6)
    # Alive bonus alone: right about falls, blind to forward progress.
    alive = lambda b: true.healthy(b["next_obs"]).double()  # noqa: E731
    assert 0.1 < epic_distance(true, alive, coverage, 0.99) < 0.9
