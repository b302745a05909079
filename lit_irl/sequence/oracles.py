"""Oracles of the synthetic language, computed exactly rather than trained: tabular ML-IRL, i.e. the
maximum-likelihood reward within the gold reward's own class (its three tables) with the exact
soft-optimal policy at the expert's temperature (thesis Ch. 5's IRL with the right features and an
exact policy step): the best any IRL learner can do from the same demonstrations.
"""

from __future__ import annotations

import copy

import torch

from lit_irl.errors import LitIRLError
from lit_irl.sequence.world import SyntheticWorld, tilted_policy


def with_reward_tables(world: SyntheticWorld, tables: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> SyntheticWorld:
    """A copy of ``world`` whose "expert" is ``pi_0 exp(r / beta_E)`` for the reward of ``tables`` (its gold
    reward unchanged is not meaningful: use the original world's)."""
    fitted = copy.copy(world)
    fitted.bigram, fitted.topical, fitted.final = (t.detach().clone() for t in tables)
    fitted.log_policy, fitted.log_partition = fitted.soft_recursion(world.beta)
    return fitted


def tabular_ml_irl(world: SyntheticWorld, prompts: torch.Tensor, responses: torch.Tensor, ridge: float = 1e-5, max_iter: int = 1000) -> SyntheticWorld:
    """Maximize ``mean log pi_theta(y | x) - ridge |theta|^2`` over the reward tables ``theta``, ``pi_theta ∝
    pi_0 exp(r_theta / beta_E)`` exactly (L-BFGS); the ridge fixes the directions the likelihood cannot see
    (constant shifts per topic). Returns the world whose expert is the fitted policy."""
    world.check_tokens(prompts, responses)
    if not len(prompts):
        raise LitIRLError("tabular ML-IRL needs at least one demonstration")
    v, horizon = world.config.vocab, world.config.horizon
    tables = [torch.zeros(v, v, dtype=torch.float64, requires_grad=True) for _ in range(3)]
    previous = torch.cat([prompts[:, -1:], responses[:, :-1]], -1)
    topic, steps = prompts[:, :1], torch.arange(horizon)[None, :]
    optimizer = torch.optim.LBFGS(tables, max_iter=max_iter, tolerance_grad=1e-9, tolerance_change=1e-12, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        log_policy, _ = tilted_policy(world.log_base, tuple(tables), world.beta, horizon)
        loss = -log_policy[steps, topic, previous, responses].sum(-1).mean() + ridge * sum(t.pow(2).sum() for t in tables)
        loss.backward()
        return loss

    optimizer.step(closure)
    return with_reward_tables(world, tuple(tables))
