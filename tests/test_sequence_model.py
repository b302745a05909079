"""The tiny transformer: causality, response log-probs against the logits by hand, sampling, reward heads,
separate parameter sets, and that it learns the base language (pretraining) and the expert (SFT)."""

from __future__ import annotations

import pytest
import torch

from lit_irl.errors import LitIRLError
from lit_irl.sequence import SyntheticWorld, WorldConfig
from lit_irl.sequence.model import TinyTransformer, TransformerConfig, frozen_copy, language_model_loss

WORLD = WorldConfig(vocab=4, prompt_length=2, horizon=6, target_kl=2.0, seed=3)
SMALL = TransformerConfig(vocab=4, context=8, width=32, layers=2, heads=4)


def test_causal_log_probs_and_heads():
    torch.manual_seed(0)
    model = TinyTransformer(SMALL)
    prompts, responses = torch.tensor([[0, 1], [2, 3]]), torch.tensor([[1, 2, 3, 0, 1, 2], [3, 3, 0, 1, 2, 0]])
    changed = responses.clone()
    changed[:, -1] = (changed[:, -1] + 1) % 4
    per_token = model.response_log_probs(prompts, responses)
    # causal: a later token changes nothing before it
    torch.testing.assert_close(per_token[:, :-1], model.response_log_probs(prompts, changed)[:, :-1])
    logits = model(torch.cat([prompts, responses], -1))
    by_hand = torch.log_softmax(logits[0, 1], -1)[responses[0, 0]]  # the first response token, predicted at the prompt's last position
    assert per_token[0, 0].item() == pytest.approx(by_hand.item(), abs=1e-6)
    torch.testing.assert_close(model.sequence_log_prob(prompts, responses), per_token.sum(-1))
    values = model.value_head(model.features(torch.cat([prompts, responses], -1))).squeeze(-1)[:, 2:]
    torch.testing.assert_close(model.sequence_reward(prompts, responses, "last"), values[:, -1])
    torch.testing.assert_close(model.sequence_reward(prompts, responses, "additive"), values.sum(-1))
    reference = frozen_copy(model)
    assert all(not p.requires_grad for p in reference.parameters()) and next(reference.parameters()).data_ptr() != next(model.parameters()).data_ptr()
    with pytest.raises(LitIRLError, match="exceed the model's context of 8"):
        model(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(LitIRLError, match="outside the vocabulary 0..3"):
        model(torch.full((1, 3), 4))


def test_it_learns_the_base_language_then_the_expert():
    """Pretraining on pi_0 samples brings KL(pi_0 || pi_theta) near 0; SFT on expert demonstrations then
    lowers KL(pi_E || pi_theta) from the base's."""
    world = SyntheticWorld(WORLD)
    torch.manual_seed(0)
    model = TinyTransformer(SMALL)
    generator = torch.Generator().manual_seed(1)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(300):
        prompts = world.sample_prompts(64, generator)
        sequences = torch.cat([prompts, world.sample_responses(prompts, generator, "base")], -1)
        loss = language_model_loss(model, sequences)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    prompts = world.sample_prompts(2000, generator)

    def kl_from(policy: str) -> float:
        responses = world.sample_responses(prompts, generator, policy)
        with torch.no_grad():
            return (world.log_prob(prompts, responses, policy) - model.sequence_log_prob(prompts, responses).double()).mean().item()

    assert kl_from("base") < 0.15, "the pretrained model is close to pi_0"
    before = kl_from("expert")
    for _ in range(200):
        batch = world.sample_prompts(64, generator)
        loss = language_model_loss(model, torch.cat([batch, world.sample_responses(batch, generator)], -1), prompt_length=WORLD.prompt_length)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert kl_from("expert") < 0.5 * before, "SFT moves it towards the expert"
    sample = model.sample(prompts[:5], WORLD.horizon, generator)
    assert sample.shape == (5, WORLD.horizon) and sample.max() < 4
