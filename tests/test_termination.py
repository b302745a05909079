"""Termination functions of model rollouts against the real v5 envs' ``terminated`` on real rollouts."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lit_irl.data.rollout import load_policy, rollout
from lit_irl.envs import EnvConfig
from lit_irl.models.termination import TERMINATIONS, termination_of
from tests.conftest import ROOT


@pytest.mark.parametrize("env_id", sorted(TERMINATIONS))
def test_termination_function_matches_the_real_env(env_id: str):
    expert = ROOT / "zoo" / env_id / "expert.pt"
    policies = [None, *([load_policy(expert).actor] if Path(expert).exists() else [])]  # Humanoid has no expert
    terminated, fired = [], []
    for actor in policies:
        # Stochastic actions make the experts fall now and then; random actions fall at once.
        data = rollout(EnvConfig(env_id), actor, transitions=1500, seed=5, record_physics=False)
        terminated.append(torch.from_numpy(data.terminals))
        fired.append(termination_of(env_id)(torch.from_numpy(data.next_observations)))
    terminated, fired = torch.cat(terminated), torch.cat(fired)
    assert torch.equal(fired, terminated), f"{int((fired != terminated).sum())} of {len(fired)} rows disagree"
    if env_id not in ("HalfCheetah-v5", "Pendulum-v1", "Ant-v5"):
        assert terminated.any(), "the rollouts reach terminal states, so both outcomes are checked"


def test_non_finite_states_end_every_terminating_env():
    nan = torch.full((2, 11), float("nan"))
    assert termination_of("Hopper-v5")(nan).all()
    assert not termination_of("HalfCheetah-v5")(torch.zeros(3, 17)).any()
    assert termination_of("CustomAnt-v0") is None
