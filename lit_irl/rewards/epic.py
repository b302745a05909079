"""EPIC: how far a learned reward is from the true one, invariant to potential shaping and scale.

Gleave et al. 2021, "Quantifying Differences in Reward Functions". Two rewards that induce the
same optimal policies under every dynamics (one is a positive multiple of the other plus a
potential-based shaping term ``gamma Phi(s') - Phi(s)``) are at distance 0; a negated reward is at
distance 1. Pearson correlation of raw rewards has neither property: shaping, which IRL cannot
identify, moves it freely.

1. Canonicalize each reward over distributions ``D_S`` of states and ``D_A`` of actions
   (``S``, ``S'`` ~ ``D_S``, ``A`` ~ ``D_A``, independent)::

       C(R)(s, a, s') = R(s, a, s') + E[gamma R(s', A, S') - R(s, A, S') - gamma R(S, A, S')]

   which removes any potential shaping. The expectations are Monte Carlo means over
   ``canonical_samples`` draws, the same draws for both rewards (or exact over the given finite
   sets with ``canonical_samples=None``).
2. ``D_EPIC = sqrt((1 - rho) / 2)`` with ``rho`` the Pearson correlation of the canonical rewards
   over a *coverage* distribution of transitions.

Coverage for the MuJoCo tables (:func:`coverage_transitions`): equal parts of expert transitions,
transitions of the policy being evaluated (stochastic) and of uniformly random actions, each from
real env steps. ``D_S`` is the marginal of the coverage set's states (``obs`` and ``next_obs``
pooled), ``D_A`` the marginal of its actions. The expert part covers what the reward was fitted
on, the agent part what the policy exploits, the random part the states a falling or untrained
agent reaches, where the standing / hopping decision is made.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from tensordict import TensorDict, TensorDictBase

from lit_irl.errors import LitIRLError

RewardFunction = Callable[[TensorDictBase], torch.Tensor]
PAIRS_PER_CHUNK = 1 << 18  # reward evaluations per forward pass: bounds memory for any coverage size


def pearson_distance(x: torch.Tensor, y: torch.Tensor) -> float:
    """``sqrt((1 - rho) / 2)``, in [0, 1]; a constant input has no correlation: distance 0.5 by
    convention would hide it, so it raises."""
    x, y = x.double().flatten(), y.double().flatten()
    x, y = x - x.mean(), y - y.mean()
    scale = x.norm() * y.norm()
    if scale <= 1e-12:
        raise LitIRLError("EPIC needs rewards that vary over the coverage distribution; one of them is constant there")
    rho = float((x @ y) / scale)
    return float(np.sqrt(max(0.0, (1.0 - rho) / 2.0)))


def _mean_over_pairs(reward: RewardFunction, obs: torch.Tensor, actions: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    """For each row ``i`` of ``obs``: the mean over ``j`` of ``R(obs_i, actions_j, next_obs_j)``."""
    n = actions.shape[0]
    rows_per_chunk = max(1, PAIRS_PER_CHUNK // n)
    means = []
    for start in range(0, obs.shape[0], rows_per_chunk):
        chunk = obs[start : start + rows_per_chunk]
        pairs = TensorDict(
            {
                "obs": chunk[:, None].expand(-1, n, -1),
                "action": actions[None].expand(chunk.shape[0], -1, -1),
                "next_obs": next_obs[None].expand(chunk.shape[0], -1, -1),
            },
            batch_size=[chunk.shape[0], n],
        )
        means.append(reward(pairs).double().mean(1))
    return torch.cat(means)


def canonicalize(
    reward: RewardFunction,
    transitions: TensorDictBase,
    draws: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    gamma: float,
) -> torch.Tensor:
    """``C(R)`` on ``transitions`` (keys ``obs``, ``action``, ``next_obs``), the expectations taken
    over ``draws = (S, A, S')``, row-aligned samples of ``D_S x D_A x D_S``."""
    states, actions, next_states = draws
    own = reward(transitions).double()
    from_next = _mean_over_pairs(reward, transitions["next_obs"], actions, next_states)
    from_here = _mean_over_pairs(reward, transitions["obs"], actions, next_states)
    baseline = reward(TensorDict({"obs": states, "action": actions, "next_obs": next_states}, batch_size=[states.shape[0]])).double().mean()
    return own + gamma * from_next - from_here - gamma * baseline


def canonical_draws(
    states: torch.Tensor, actions: torch.Tensor, samples: int | None, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(S, A, S')`` for the expectations: ``samples`` independent draws from the finite sets
    ``states`` and ``actions``, or (``None``) their full product, for an exact expectation."""
    if samples is None:
        s, a, s_next = torch.meshgrid(
            torch.arange(states.shape[0]), torch.arange(actions.shape[0]), torch.arange(states.shape[0]), indexing="ij"
        )
        return states[s.flatten()], actions[a.flatten()], states[s_next.flatten()]
    pick = lambda n: torch.randint(0, n, (samples,), generator=generator)  # noqa: E731
    return states[pick(states.shape[0])], actions[pick(actions.shape[0])], states[pick(states.shape[0])]


@torch.no_grad()
def epic_distance(
    reward_a: RewardFunction,
    reward_b: RewardFunction,
    coverage: TensorDictBase,
    gamma: float,
    canonical_samples: int | None = 512,
    states: torch.Tensor | None = None,
    actions: torch.Tensor | None = None,
    seed: int = 0,
) -> float:
    """EPIC distance of two rewards over ``coverage`` transitions (``obs``, ``action``, ``next_obs``).

    ``states`` / ``actions``: the finite sets ``D_S`` / ``D_A`` is uniform over; by default the
    coverage set's states (``obs`` and ``next_obs``) and actions."""
    if not 0.0 <= gamma <= 1.0:
        raise LitIRLError(f"EPIC's gamma must be in [0, 1], got {gamma}")
    missing = [key for key in ("obs", "action", "next_obs") if key not in coverage.keys()]
    if missing or coverage.batch_dims != 1 or coverage.shape[0] < 2:
        raise LitIRLError(
            f"EPIC needs at least 2 coverage transitions with keys obs, action, next_obs (missing: {missing or 'none'}, "
            f"batch shape {tuple(coverage.shape)}); state-only demonstrations still have actions in their file"
        )
    states = torch.cat([coverage["obs"], coverage["next_obs"]]) if states is None else states
    actions = coverage["action"] if actions is None else actions
    generator = torch.Generator().manual_seed(seed)
    draws = canonical_draws(states, actions, canonical_samples, generator)
    return pearson_distance(canonicalize(reward_a, coverage, draws, gamma), canonicalize(reward_b, coverage, draws, gamma))


def coverage_transitions(env_config, expert, actor, per_source: int, seed: int) -> TensorDict:
    """The coverage set of the MuJoCo tables: ``per_source`` transitions each of the expert data
    (:class:`~lit_irl.data.d4rl.TransitionData`, random rows), of ``actor`` (stochastic; ``None``
    skips it) and of uniform random actions, from real env steps with the env's termination.
    Keys ``obs``, ``action``, ``next_obs``, ``true_reward`` and ``source`` (0 expert, 1 agent, 2 random)."""
    from lit_irl.data.rollout import rollout

    def as_tensordict(data, rows: np.ndarray | slice, source: int) -> TensorDict:
        fields = {
            "obs": torch.as_tensor(data.observations[rows]),
            "action": torch.as_tensor(data.actions[rows]),
            "next_obs": torch.as_tensor(data.next_observations[rows]),
            "true_reward": torch.as_tensor(data.rewards[rows]),
        }
        n = fields["obs"].shape[0]
        return TensorDict({**fields, "source": torch.full((n,), source)}, batch_size=[n])

    generator = np.random.default_rng(seed)
    parts = [as_tensordict(expert, np.sort(generator.choice(len(expert), min(per_source, len(expert)), replace=False)), 0)]
    if actor is not None:
        agent = rollout(env_config, actor, transitions=per_source, seed=seed + 1, record_physics=False)
        parts.append(as_tensordict(agent, slice(None), 1))
    uniform = rollout(env_config, None, transitions=per_source, seed=seed + 2, record_physics=False)
    parts.append(as_tensordict(uniform, slice(None), 2))
    return torch.cat(parts)


@torch.no_grad()
def reward_recovery(
    reward: RewardFunction, true_reward: RewardFunction, coverage: TensorDictBase, gamma: float, canonical_samples: int = 512, seed: int = 0
) -> dict[str, float]:
    """EPIC distance to the true reward, and the raw Pearson / Spearman correlations with the env's
    rewards (``coverage["true_reward"]``) on the same transitions, for the tables."""
    from torchmetrics.functional import pearson_corrcoef, spearman_corrcoef

    learned, env_rewards = reward(coverage).double(), coverage["true_reward"].double()
    return {
        "epic": epic_distance(reward, true_reward, coverage, gamma, canonical_samples, seed=seed),
        "pearson": float(pearson_corrcoef(learned, env_rewards)),
        "spearman": float(spearman_corrcoef(learned, env_rewards)),
    }


def checkpoint_reward_recovery(checkpoint: str, per_source: int = 1000, seed: int = 0) -> dict[str, float] | None:
    """:func:`reward_recovery` of an IRL checkpoint's learned reward in its own env, on the coverage
    of :func:`coverage_transitions` (its demonstration file, its policy, uniform actions);
    ``None`` where the env's true reward has no rewrite (:mod:`lit_irl.envs.true_reward`)."""
    from lit_irl.checkpoint_io import load_checkpoint_file
    from lit_irl.data.d4rl import load_dataset
    from lit_irl.data.rollout import config_from_hparams, load_policy
    from lit_irl.envs.true_reward import true_reward_of
    from lit_irl.policy import SACConfig
    from lit_irl.rewards.models import load_reward

    policy = load_policy(checkpoint)
    true_reward = true_reward_of(policy.env.env_id)
    if true_reward is None:
        return None
    hparams = load_checkpoint_file(checkpoint)["hyper_parameters"]
    expert = load_dataset(hparams["demonstrations"])
    spec_obs, spec_act = expert.observations.shape[1], expert.actions.shape[1]
    reward = load_reward(checkpoint, spec_obs, spec_act)
    gamma = config_from_hparams(SACConfig, hparams["sac"]).gamma if hparams.get("sac") is not None else 0.99
    coverage = coverage_transitions(policy.env, expert, policy.actor, per_source, seed)
    return reward_recovery(reward, true_reward, coverage, gamma, seed=seed)


def evaluation_recovery_metrics(
    env_config, reward: torch.nn.Module, demonstrations, actor, per_source: int, gamma: float, seed: int
) -> dict[str, float]:
    """``reward_recovery/{epic,pearson_coverage,spearman_coverage}`` of an IRL learner's current
    reward at an evaluation (coverage: its demonstrations, its current policy, uniform actions);
    empty where the env's true reward has no rewrite or a reward is constant on the coverage set."""
    import copy

    from lit_irl.envs.true_reward import true_reward_of

    true_reward = true_reward_of(env_config.env_id)
    if not per_source or true_reward is None:
        return {}
    # Own seeds (not the training streams), and the reward on CPU like the coverage data.
    coverage = coverage_transitions(env_config, demonstrations, actor, per_source, seed)
    try:
        recovery = reward_recovery(copy.deepcopy(reward).cpu(), true_reward, coverage, gamma, seed=seed)
    except LitIRLError:  # a reward constant over the coverage set (a pendulum that never falls): nothing to report
        return {}
    metrics = {"reward_recovery/epic": recovery["epic"], "reward_recovery/pearson_coverage": recovery["pearson"],
               "reward_recovery/spearman_coverage": recovery["spearman"]}
    return {key: value for key, value in metrics.items() if np.isfinite(value)}


class RewardRecoveryAtEvaluation:
    """Mixin of IRL learners (before their learner base): each evaluation also logs
    :func:`evaluation_recovery_metrics` of ``self.reward``, on rank 0. The learner provides
    ``reward``, ``demonstration_data``, ``recovery_transitions``, ``policy`` (its gamma) and ``actor``."""

    def evaluate(self) -> dict[str, float]:
        result = super().evaluate()
        if self.global_rank == 0:
            metrics = evaluation_recovery_metrics(self.env_config, self.reward, self.demonstration_data, self.actor,
                                                  self.recovery_transitions, self.policy.config.gamma, self.seed)
            self.log_scalars(metrics)
            result.update(metrics)
        return result
