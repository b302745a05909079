"""The synthetic language of the sequence-level track: the expert's recursion against enumeration, the
sampler against the exact law, the KL calibration, bad inputs."""

from __future__ import annotations

import pytest
import torch

from lit_irl.errors import LitIRLError
from lit_irl.sequence import SyntheticWorld, WorldConfig

EXACT = WorldConfig(vocab=4, prompt_length=2, horizon=6, target_kl=2.0, seed=3)


def test_the_recursion_is_the_enumerated_tilt():
    """pi_E(y | x) = pi_0(y | x) exp(r*(x, y) / beta) / Z(x), over all 4^6 responses of every prompt."""
    world = SyntheticWorld(EXACT)
    responses = world.enumerate_responses()
    for prompt in ([0, 1], [2, 3], [3, 0]):
        prompts = torch.tensor(prompt).expand(len(responses), 2)
        tilted = world.log_prob(prompts, responses, "base") + world.gold_reward(prompts, responses) / world.beta
        exact = tilted - torch.logsumexp(tilted, 0)
        torch.testing.assert_close(world.log_prob(prompts, responses), exact, atol=1e-10, rtol=0)
        assert torch.logsumexp(exact, 0).item() == pytest.approx(0.0, abs=1e-12)
        torch.testing.assert_close(torch.logsumexp(tilted, 0), world.log_partition[prompt[0], prompt[-1]], atol=1e-10, rtol=0)


def test_the_sampler_draws_the_exact_law():
    world = SyntheticWorld(EXACT)
    generator = torch.Generator().manual_seed(0)
    prompts = torch.tensor([[1, 2]]).expand(40_000, 2)
    samples = world.sample_responses(prompts, generator)
    responses = world.enumerate_responses()
    exact = world.log_prob(torch.tensor([[1, 2]]).expand(len(responses), 2), responses).exp()
    # the law of the first two tokens (16 cells): empirical vs exact
    first_two = samples[:, 0] * 4 + samples[:, 1]
    empirical = torch.bincount(first_two, minlength=16).double() / len(samples)
    expected = torch.zeros(16, dtype=torch.float64).index_add_(0, responses[:, 0] * 4 + responses[:, 1], exact)
    assert 0.5 * (empirical - expected).abs().sum().item() < 0.015
    chi2 = (len(samples) * (empirical - expected).pow(2) / expected.clamp_min(1e-12))[expected > 1e-3].sum().item()
    assert chi2 < 37.7, "chi^2 with 15 degrees of freedom below its 0.1% quantile"


def test_beta_is_calibrated_to_the_target_kl():
    world = SyntheticWorld(WorldConfig(seed=1))  # the benchmark configuration: V 16, prompts 4, H 12, KL 3 nats
    assert world.expert_kl_by_topic(world.beta).mean().item() == pytest.approx(3.0, abs=1e-6)
    generator = torch.Generator().manual_seed(0)
    prompts = world.sample_prompts(20_000, generator)
    responses = world.sample_responses(prompts, generator)
    log_ratio = world.log_prob(prompts, responses) - world.log_prob(prompts, responses, "base")
    standard_error = log_ratio.std().item() / len(log_ratio) ** 0.5
    assert abs(log_ratio.mean().item() - 3.0) < 4 * standard_error, "the Monte-Carlo KL agrees with the exact one"
    assert world.gold_reward(prompts, responses).mean() > world.gold_reward(prompts, world.sample_responses(prompts, generator, "base")).mean()


def test_bad_inputs():
    world = SyntheticWorld(EXACT)
    prompts, responses = torch.tensor([[0, 1]]), torch.tensor([[0, 1, 2, 3, 0, 4]])
    with pytest.raises(LitIRLError, match="outside the vocabulary 0..3"):
        world.gold_reward(prompts, responses)
    with pytest.raises(LitIRLError, match=r"responses \(n, 6\)"):
        world.log_prob(prompts, responses[:, :5])
    with pytest.raises(LitIRLError, match="too many to enumerate"):
        SyntheticWorld(WorldConfig(vocab=16, horizon=12, beta_expert=1.0)).enumerate_responses()
    with pytest.raises(LitIRLError, match="vocab must be >= 2"):
        WorldConfig(vocab=1)
