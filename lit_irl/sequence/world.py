"""A synthetic language with a known gold reward and an exactly sampled expert.

- Base language ``pi_0``: an order-1 Markov chain over ``vocab`` tokens with peaky Dirichlet rows.
- Prompts ``x`` of ``prompt_length`` tokens: the first, the prompt's *topic* ``t(x)``, uniform; the rest
  by ``pi_0``. Responses ``y`` of ``horizon`` tokens continue the chain from the prompt's last token.
- Gold reward ``r*(x, y) = sum_h [W(y_{h-1}, y_h) + U(t(x), y_h)] + E(t(x), y_H)``: a bigram term, a
  prompt-dependent term and a term on the last token only (so that a reward read at the last
  token has something of its own to find), ``y_0`` the prompt's last token.
- Expert ``pi_E(y | x) ∝ pi_0(y | x) exp(r*(x, y) / beta_E)``, sampled exactly token by token from
  a backward soft-value recursion (``Q_h``, ``V_h``), which also gives ``log pi_E`` and ``log Z(x)``
  exactly; ``beta_E`` is calibrated so that the mean ``KL(pi_E || pi_0)`` over topics is
  ``target_kl`` nats (2-5 keeps the expert far from, but within reach of, the base).

Everything is float64 and exact: in a small configuration (``vocab ** horizon`` up to ~10^4) every
response can be enumerated (:meth:`SyntheticWorld.enumerate_responses`), which the tests use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from lit_irl.errors import LitIRLError, check_positive


@dataclass
class WorldConfig:
    """The synthetic world (defaults: the benchmark configuration of the reference card).

    Attributes:
        vocab: tokens ``0..vocab-1``.
        prompt_length: prompt tokens (the first is the topic).
        horizon: response tokens.
        dirichlet: concentration of ``pi_0``'s rows (small: peaky transitions).
        reward_scale: scale of the gold reward's tables (standard normal times this).
        target_kl: mean ``KL(pi_E || pi_0)`` in nats that fixes ``beta_E`` (``beta_expert`` overrides).
        beta_expert: the expert's temperature, or ``None`` to calibrate it to ``target_kl``.
        seed: the world's tables.
    """

    vocab: int = 16
    prompt_length: int = 4
    horizon: int = 12
    dirichlet: float = 0.3
    reward_scale: float = 1.0
    target_kl: float = 3.0
    beta_expert: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        check_positive(vocab=self.vocab, prompt_length=self.prompt_length, horizon=self.horizon, dirichlet=self.dirichlet,
                       reward_scale=self.reward_scale, target_kl=self.target_kl)  # fmt: skip
        if self.vocab < 2:
            raise LitIRLError(f"vocab must be >= 2, got {self.vocab}")
        if self.beta_expert is not None and self.beta_expert <= 0:
            raise LitIRLError(f"beta_expert must be > 0 (or null to calibrate it), got {self.beta_expert}")


_CALIBRATED: dict[tuple, float] = {}  # beta_E of each world configuration calibrated in this process
RewardTables = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # bigram W (a, b), topical U (t, b), final E (t, b)


def tilted_policy(log_base: torch.Tensor, tables: RewardTables, beta: float, horizon: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``log pi(b | t, a, h)`` ``(H, V, V, V)`` of ``pi ∝ pi_0 exp(r / beta)`` for the reward of ``tables``
    (the gold reward's form), and ``log Z(t, a)`` ``(V, V)`` (``a`` the token before the response), by the
    backward recursion ``Q_h = log pi_0 + r_h / beta + V_{h+1}``, ``V_h = logsumexp Q_h``. Differentiable
    in ``tables``."""
    bigram, topical, final = tables
    v = log_base.shape[0]
    value_next = torch.zeros(v, v, dtype=log_base.dtype)  # V_H(t, b) = 0
    steps = []
    for h in reversed(range(horizon)):
        reward = bigram[None, :, :] + topical[:, None, :] + (final[:, None, :] if h == horizon - 1 else 0.0)  # (t, a, b)
        q = log_base[None] + reward / beta + value_next[:, None, :]
        value = torch.logsumexp(q, -1)
        steps.append(q - value[..., None])
        value_next = value
    return torch.stack(steps[::-1]), value_next


class SyntheticWorld:
    """The world of a :class:`WorldConfig`: its tables, the expert's recursion, sampling and exact log-probs."""

    def __init__(self, config: WorldConfig = WorldConfig()) -> None:  # never mutated
        self.config = config
        g = torch.Generator().manual_seed(config.seed)
        v = config.vocab
        rows = np.random.default_rng(config.seed).dirichlet(np.full(v, config.dirichlet), size=v)  # torch's Dirichlet takes no generator
        self.log_base = torch.from_numpy(rows).clamp_min(1e-300).log()  # log pi_0(b | a), (V, V)
        scale = config.reward_scale
        self.bigram = scale * torch.randn(v, v, generator=g, dtype=torch.float64)  # W(a, b)
        self.topical = scale * torch.randn(v, v, generator=g, dtype=torch.float64)  # U(t, b)
        self.final = scale * torch.randn(v, v, generator=g, dtype=torch.float64)  # E(t, b)
        if config.beta_expert is not None:
            self.beta = config.beta_expert
        else:  # every learner of a run builds the same world: calibrate it once per process
            key = tuple(sorted(vars(config).items()))
            if key not in _CALIBRATED:
                _CALIBRATED[key] = self.calibrate_beta(config.target_kl)
            self.beta = _CALIBRATED[key]
        self.log_policy, self.log_partition = self.soft_recursion(self.beta)

    # ------------------------------------------------------------------ the expert
    def soft_recursion(self, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
        """``log pi_E(b | t, a, h)`` ``(H, V, V, V)`` and ``log Z(t, a)`` ``(V, V)`` of the gold reward at ``beta``."""
        return tilted_policy(self.log_base, (self.bigram, self.topical, self.final), beta, self.config.horizon)

    def expert_kl_by_topic(self, beta: float) -> torch.Tensor:
        """Exact ``KL(pi_E || pi_0)`` per topic, from the topic's stationary-free start: the prompt's last
        token distributed as ``pi_0`` after ``prompt_length - 1`` steps from the topic."""
        log_policy, _ = self.soft_recursion(beta)
        start = self.prompt_end_distribution()  # (t, a)
        kl = torch.zeros(self.config.vocab, dtype=torch.float64)
        state = start  # distribution of the previous token under pi_E, per topic
        for h in range(self.config.horizon):
            policy = log_policy[h].exp()  # (t, a, b)
            step_kl = (policy * (log_policy[h] - self.log_base[None])).sum(-1)  # (t, a)
            kl = kl + (state * step_kl).sum(-1)
            state = torch.einsum("ta,tab->tb", state, policy)
        return kl

    def calibrate_beta(self, target_kl: float) -> float:
        """``beta_E`` with the mean over topics of ``KL(pi_E || pi_0)`` at ``target_kl`` (bisection on log beta)."""
        low, high = math.log(1e-3), math.log(1e3)
        for _ in range(60):
            middle = 0.5 * (low + high)
            if float(self.expert_kl_by_topic(math.exp(middle)).mean()) > target_kl:
                low = middle  # too far from pi_0: a larger temperature
            else:
                high = middle
        return math.exp(0.5 * (low + high))

    def prompt_end_distribution(self) -> torch.Tensor:
        """``P(last prompt token = a | topic t)``: ``(V, V)``."""
        state = torch.eye(self.config.vocab, dtype=torch.float64)
        for _ in range(self.config.prompt_length - 1):
            state = state @ self.log_base.exp()
        return state

    # ------------------------------------------------------------------ sampling
    def sample_prompts(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` prompts ``(n, prompt_length)``: a uniform topic, then ``pi_0``."""
        check_positive(prompts=n)
        tokens = [torch.randint(0, self.config.vocab, (n,), generator=generator)]
        for _ in range(self.config.prompt_length - 1):
            tokens.append(torch.multinomial(self.log_base[tokens[-1]].exp(), 1, generator=generator).squeeze(-1))
        return torch.stack(tokens, -1)

    def sample_responses(self, prompts: torch.Tensor, generator: torch.Generator, policy: str = "expert") -> torch.Tensor:
        """Responses ``(n, horizon)`` of the ``expert`` (exact) or the ``base`` language ``pi_0``."""
        if policy not in ("expert", "base"):
            raise LitIRLError(f"policy must be expert or base, got {policy!r}")
        topic, previous = prompts[:, 0], prompts[:, -1]
        tokens = []
        for h in range(self.config.horizon):
            logits = self.log_policy[h, topic, previous] if policy == "expert" else self.log_base[previous]
            previous = torch.multinomial(logits.exp(), 1, generator=generator).squeeze(-1)
            tokens.append(previous)
        return torch.stack(tokens, -1)

    # ------------------------------------------------------------------ exact quantities
    def check_tokens(self, prompts: torch.Tensor, responses: torch.Tensor) -> None:
        c = self.config
        if prompts.dim() != 2 or prompts.shape[1] != c.prompt_length or responses.dim() != 2 or responses.shape[1] != c.horizon:
            raise LitIRLError(
                f"prompts must be (n, {c.prompt_length}) and responses (n, {c.horizon}) token ids, got {tuple(prompts.shape)} and {tuple(responses.shape)}"
            )
        for name, tokens in (("prompts", prompts), ("responses", responses)):
            if tokens.numel() and (tokens.min() < 0 or tokens.max() >= c.vocab):
                raise LitIRLError(f"{name} hold token ids outside the vocabulary 0..{c.vocab - 1}")

    def gold_reward(self, prompts: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
        """``r*(x, y)`` per pair, ``(n,)``."""
        self.check_tokens(prompts, responses)
        topic = prompts[:, 0]
        previous = torch.cat([prompts[:, -1:], responses[:, :-1]], -1)
        reward = self.bigram[previous, responses].sum(-1) + self.topical[topic[:, None], responses].sum(-1)
        return reward + self.final[topic, responses[:, -1]]

    def log_prob(self, prompts: torch.Tensor, responses: torch.Tensor, policy: str = "expert") -> torch.Tensor:
        """Exact ``log pi_E(y | x)`` (or ``log pi_0``) per pair, ``(n,)``."""
        self.check_tokens(prompts, responses)
        previous = torch.cat([prompts[:, -1:], responses[:, :-1]], -1)
        if policy == "base":
            return self.log_base[previous, responses].sum(-1)
        steps = torch.arange(self.config.horizon)
        return self.log_policy[steps[None, :], prompts[:, :1], previous, responses].sum(-1)

    def enumerate_responses(self) -> torch.Tensor:
        """Every response ``(vocab ** horizon, horizon)`` (small configurations only)."""
        count = self.config.vocab ** self.config.horizon
        if count > 200_000:
            raise LitIRLError(f"{count:,} responses are too many to enumerate; use vocab ** horizon <= 200,000")
        index = torch.arange(count)
        digits = [(index // self.config.vocab**p) % self.config.vocab for p in reversed(range(self.config.horizon))]
        return torch.stack(digits, -1)
