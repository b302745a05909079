"""A tiny causal transformer for the synthetic language: policy, frozen reference and reward model are
separate instances (separate parameter sets; a reward model starts as a copy of a policy's body).

Sequences are ``prompt + response`` token ids. ``log pi(y | x)`` is the sum of the response tokens'
log-probabilities (the prompt is masked), as DPO, SPIN and IRL use it; a sequence reward is read at
the last response token (``head: last``, the paper's reward model) or summed over response tokens
(``head: additive``, an ablation).

Two kinds of model share one interface (:class:`CausalPolicy`): the tiny transformer of this module, and a
Hugging Face causal LM (:mod:`lit_irl.sequence.hf`, optional extra ``hf``): a tiny random Llama in the
tests, or a real small model loaded offline. :func:`build_model` makes either from its config.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Literal, Optional

import torch
import torch.nn.functional as F
from torch import nn

from lit_irl.errors import LitIRLError, check_positive


TINY_LLAMA = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4,
              "max_position_embeddings": 64}  # fmt: skip


@dataclass
class HFModelConfig:
    """A Hugging Face causal LM for the sequence learners (``model.hf``; see :mod:`lit_irl.sequence.hf`). The
    world's vocabulary and the longest sequence come from ``model.vocab`` and ``model.context``.

    Attributes:
        pretrained: ``None`` (a random ``llama``), a local directory or ``.gguf`` file, or ``smollm2``.
        llama: ``LlamaConfig`` keys of the random model (``vocab_size`` defaults to ``model.vocab``).
        trainable_blocks: train only the last blocks (and the final norm); ``None``: every parameter.
    """

    pretrained: Optional[str] = None
    llama: dict = field(default_factory=lambda: dict(TINY_LLAMA))
    trainable_blocks: Optional[int] = None

    def __post_init__(self) -> None:
        if self.trainable_blocks is not None and self.trainable_blocks < 0:
            raise LitIRLError(f"trainable_blocks must be >= 0 or null, got {self.trainable_blocks}")


@dataclass
class TransformerConfig:
    """Sizes of the tiny transformer (about 100k parameters by default); with ``hf`` a Hugging Face causal
    LM instead (:class:`~lit_irl.sequence.hf.HFModelConfig`; ``vocab`` and ``context`` still apply, the
    other sizes do not)."""

    vocab: int = 16
    context: int = 16
    width: int = 64
    layers: int = 2
    heads: int = 4
    hf: Optional[HFModelConfig] = None

    def __post_init__(self) -> None:
        check_positive(vocab=self.vocab, context=self.context, width=self.width, layers=self.layers, heads=self.heads)
        if self.width % self.heads:
            raise LitIRLError(f"width ({self.width}) must be a multiple of heads ({self.heads})")


class CausalPolicy(nn.Module):
    """What every sequence learner uses of a model: ``features`` ``(B, L, D)`` of a token sequence,
    ``forward`` next-token logits ``(B, L, vocab)`` over the world's vocabulary and ``value_head`` (one
    scalar per position: reward or value); from them, response log-probabilities, sampling and sequence
    rewards. ``vocab`` and ``context`` bound the token ids and lengths it accepts."""

    vocab: int
    context: int
    value_head: nn.Linear

    def features(self, tokens: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def check(self, tokens: torch.Tensor) -> None:
        if tokens.shape[-1] > self.context:
            raise LitIRLError(f"sequences of {tokens.shape[-1]} tokens exceed the model's context of {self.context}; raise context or shorten them")
        if tokens.numel() and (tokens.min() < 0 or tokens.max() >= self.vocab):
            raise LitIRLError(f"token ids outside the vocabulary 0..{self.vocab - 1}")

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
            probs = F.softmax(logits.float(), -1).cpu()  # a CPU generator draws the same tokens on every device
            tokens = torch.cat([tokens, torch.multinomial(probs, 1, generator=generator).to(tokens.device)], -1)
        return tokens[:, prompts.shape[-1] :]

    def sequence_reward(self, prompts: torch.Tensor, responses: torch.Tensor, head: Literal["last", "additive"] = "last") -> torch.Tensor:
        """A scalar per sequence from ``value_head``: at the last response token, or summed over response tokens."""
        values = self.value_head(self.features(torch.cat([prompts, responses], -1))).squeeze(-1)[:, prompts.shape[-1] :]
        if head == "last":
            return values[:, -1]
        if head == "additive":
            return values.sum(-1)
        raise LitIRLError(f"reward head must be last or additive, got {head!r}")


class TinyTransformer(CausalPolicy):
    """Token and position embeddings, ``layers`` pre-norm causal self-attention blocks, a final norm;
    ``lm_head`` gives next-token logits, ``value_head`` one scalar per position (reward / value)."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config, self.vocab, self.context = config, config.vocab, config.context
        self.token = nn.Embedding(config.vocab, config.width)
        self.position = nn.Embedding(config.context, config.width)
        layer = nn.TransformerEncoderLayer(config.width, config.heads, 4 * config.width, dropout=0.0, batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(config.width)
        self.lm_head = nn.Linear(config.width, config.vocab)
        self.value_head = nn.Linear(config.width, 1)
        self.register_buffer("causal", torch.triu(torch.full((config.context, config.context), float("-inf")), 1), persistent=False)

    def features(self, tokens: torch.Tensor) -> torch.Tensor:
        self.check(tokens)
        length = tokens.shape[-1]
        x = self.token(tokens) + self.position(torch.arange(length, device=tokens.device))
        return self.norm(self.blocks(x, mask=self.causal[:length, :length], is_causal=True))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Next-token logits ``(B, L, V)``."""
        return self.lm_head(self.features(tokens))


def build_model(config: TransformerConfig) -> CausalPolicy:
    """The model of a learner's ``model`` config: the tiny transformer, or the Hugging Face causal LM of
    ``config.hf`` (:mod:`lit_irl.sequence.hf`)."""
    if config.hf is None:
        return TinyTransformer(config)
    from lit_irl.sequence.hf import HFCausalLM

    return HFCausalLM(config.hf, config.vocab, config.context)


def reward_copy(model: CausalPolicy) -> CausalPolicy:
    """A reward model from a policy: a separate copy of its body with the value head zeroed, so that the
    reward starts at 0 everywhere (the KL-regularised optimum is then the start policy itself)."""
    reward = copy.deepcopy(model).requires_grad_(True)
    nn.init.zeros_(reward.value_head.weight)
    nn.init.zeros_(reward.value_head.bias)
    return reward


def frozen_copy(model: CausalPolicy) -> CausalPolicy:
    """A separate, frozen parameter set (the reference policy)."""
    return copy.deepcopy(model).requires_grad_(False).eval()


def language_model_loss(model: CausalPolicy, sequences: torch.Tensor, prompt_length: int = 0) -> torch.Tensor:
    """Mean next-token cross-entropy of ``sequences``, over the tokens after ``prompt_length`` (SFT:
    the response tokens; pretraining on the base language: every token, ``prompt_length`` 0)."""
    logits = model(sequences[:, :-1])
    targets = sequences[:, 1:]
    start = max(prompt_length - 1, 0)
    return F.cross_entropy(logits[:, start:].reshape(-1, logits.shape[-1]), targets[:, start:].reshape(-1))
