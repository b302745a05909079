"""A tiny causal transformer for the synthetic language: policy, frozen reference and reward model are
separate instances (separate parameter sets; a reward model starts as a copy of a policy's body).

Sequences are ``prompt + response`` token ids. ``log pi(y | x)`` is the sum of the response tokens'
log-probabilities (the prompt is masked), as DPO, SPIN and IRL use it; a sequence reward is read at
the last response token (``head: last``, the paper's reward model) or summed over response tokens
(``head: additive``, an ablation).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from lit_irl.errors import LitIRLError, check_positive


@dataclass
class TransformerConfig:
    """Sizes of the tiny transformer (about 100k parameters by default)."""

    vocab: int = 16
    context: int = 16
    width: int = 64
    layers: int = 2
    heads: int = 4

    def __post_init__(self) -> None:
        check_positive(vocab=self.vocab, context=self.context, width=self.width, layers=self.layers, heads=self.heads)
        if self.width % self.heads:
            raise LitIRLError(f"width ({self.width}) must be a multiple of heads ({self.heads})")


class TinyTransformer(nn.Module):
    """Token and position embeddings, ``layers`` pre-norm causal self-attention blocks, a final norm;
    ``lm_head`` gives next-token logits, ``value_head`` one scalar per position (reward / value)."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = config
        self.token = nn.Embedding(config.vocab, config.width)
        self.position = nn.Embedding(config.context, config.width)
        layer = nn.TransformerEncoderLayer(config.width, config.heads, 4 * config.width, dropout=0.0, batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(config.width)
        self.lm_head = nn.Linear(config.width, config.vocab)
        self.value_head = nn.Linear(config.width, 1)
        self.register_buffer("causal", torch.triu(torch.full((config.context, config.context), float("-inf")), 1), persistent=False)

    def check(self, tokens: torch.Tensor) -> None:
        c = self.config
        if tokens.shape[-1] > c.context:
            raise LitIRLError(f"sequences of {tokens.shape[-1]} tokens exceed the model's context of {c.context}; raise context or shorten them")
        if tokens.numel() and (tokens.min() < 0 or tokens.max() >= c.vocab):
            raise LitIRLError(f"token ids outside the vocabulary 0..{c.vocab - 1}")

    def features(self, tokens: torch.Tensor) -> torch.Tensor:
        self.check(tokens)
        length = tokens.shape[-1]
        x = self.token(tokens) + self.position(torch.arange(length, device=tokens.device))
        return self.norm(self.blocks(x, mask=self.causal[:length, :length], is_causal=True))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Next-token logits ``(B, L, V)``."""
        return self.lm_head(self.features(tokens))

    def response_log_probs(self, prompts: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
        """``log pi(y_h | x, y_<h)`` per response token ``(B, H)``."""
        tokens = torch.cat([prompts, responses], -1)
        logits = self(tokens[:, :-1])[:, prompts.shape[-1] - 1 :]
        return torch.gather(F.log_softmax(logits, -1), -1, responses[..., None]).squeeze(-1)

    def sequence_log_prob(self, prompts: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
        """``log pi(y | x)``: the sum over response tokens (prompt masked), ``(B,)``."""
        return self.response_log_probs(prompts, responses).sum(-1)

    @torch.no_grad()
    def sample(self, prompts: torch.Tensor, horizon: int, generator: torch.Generator, temperature: float = 1.0) -> torch.Tensor:
        """Responses ``(B, horizon)`` sampled token by token at ``temperature``."""
        check_positive(temperature=temperature)
        tokens = prompts
        for _ in range(horizon):
            logits = self(tokens)[:, -1] / temperature
            tokens = torch.cat([tokens, torch.multinomial(F.softmax(logits, -1), 1, generator=generator)], -1)
        return tokens[:, prompts.shape[-1] :]

    def sequence_reward(self, prompts: torch.Tensor, responses: torch.Tensor, head: Literal["last", "additive"] = "last") -> torch.Tensor:
        """A scalar per sequence from ``value_head``: at the last response token, or summed over response tokens."""
        values = self.value_head(self.features(torch.cat([prompts, responses], -1))).squeeze(-1)[:, prompts.shape[-1] :]
        if head == "last":
            return values[:, -1]
        if head == "additive":
            return values.sum(-1)
        raise LitIRLError(f"reward head must be last or additive, got {head!r}")


def reward_copy(model: TinyTransformer) -> TinyTransformer:
    """A reward model from a policy: a separate copy of its body with the value head zeroed, so that the
    reward starts at 0 everywhere (the KL-regularised optimum is then the start policy itself)."""
    reward = copy.deepcopy(model).requires_grad_(True)
    nn.init.zeros_(reward.value_head.weight)
    nn.init.zeros_(reward.value_head.bias)
    return reward


def frozen_copy(model: TinyTransformer) -> TinyTransformer:
    """A separate, frozen parameter set (the reference policy)."""
    return copy.deepcopy(model).requires_grad_(False).eval()


def language_model_loss(model: TinyTransformer, sequences: torch.Tensor, prompt_length: int = 0) -> torch.Tensor:
    """Mean next-token cross-entropy of ``sequences``, over the tokens after ``prompt_length`` (SFT:
    the response tokens; pretraining on the base language: every token, ``prompt_length`` 0)."""
    logits = model(sequences[:, :-1])
    targets = sequences[:, 1:]
    start = max(prompt_length - 1, 0)
    return F.cross_entropy(logits[:, start:].reshape(-1, logits.shape[-1]), targets[:, start:].reshape(-1))
