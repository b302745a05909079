"""Policy rollouts inside a world model: shapes, termination, masks, penalties, determinism."""

from __future__ import annotations

import pytest
import torch

from lit_irl.errors import LitIRLError
from lit_irl.models.rollout import model_rollout
from lit_irl.models.termination import termination_of
from lit_irl.models.world_model import GaussianEnsemble
from lit_irl.nn.actor import TanhGaussianActor


def still_model(obs_dim: int = 4, act_dim: int = 1) -> GaussianEnsemble:
    """A model whose every member predicts no change (zero output layer): s' = s in the mean."""
    model = GaussianEnsemble(obs_dim, act_dim, num_models=3, num_elites=2, hidden=[8])
    with torch.no_grad():
        model.net.layers[-1].weight.zero_()
        model.net.layers[-1].bias.zero_()
    return model.eval()


def test_rows_stop_where_the_env_would_and_stay_masked():
    model, actor = still_model(), TanhGaussianActor(4, 1, [8], torch.tensor([-3.0]), torch.tensor([3.0]))
    upright, fallen = torch.zeros(2, 4), torch.tensor([[0.0, 0.5, 0.0, 0.0]] * 3)  # pole angle 0.5 > 0.2
    data, mask = model_rollout(model, actor, torch.cat([upright, fallen]), 6, termination_of("InvertedPendulum-v5"), deterministic=True)
    assert data.batch_size == (5, 6) and mask.shape == (5, 6)
    assert mask[:2].all(), "upright pendulums that do not move never end"
    assert mask[2:, 0].all() and not mask[2:, 1:].any(), "a fallen pendulum ends at its first step"
    assert data["terminated"][2:, 0].all() and not data["terminated"][:2].any()
    torch.testing.assert_close(data["next_obs"][:2], data["obs"][:2])  # the still model's mean


def test_every_row_ended_pads_to_the_horizon_masked():
    model, actor = still_model(), TanhGaussianActor(4, 1, [8], torch.tensor([-3.0]), torch.tensor([3.0]))
    data, mask = model_rollout(model, actor, torch.tensor([[0.0, 0.5, 0.0, 0.0]]), 4, termination_of("InvertedPendulum-v5"), deterministic=True)
    assert data.batch_size == (1, 4) and mask.tolist() == [[True, False, False, False]]


def test_penalty_and_noise_are_reproducible():
    torch.manual_seed(0)
    model = GaussianEnsemble(4, 1, num_models=3, num_elites=2, hidden=[8]).eval()
    actor = TanhGaussianActor(4, 1, [8], torch.tensor([-3.0]), torch.tensor([3.0]))
    start = torch.randn(16, 4) * 0.01

    def run() -> torch.Tensor:
        data, _ = model_rollout(model, actor, start, 3, None, penalty="max_aleatoric", generator=torch.Generator().manual_seed(7))
        assert (data["penalty"] >= 0).all() and data["penalty"].shape == (16, 3)
        return data["next_obs"]

    torch.testing.assert_close(run(), run())


def test_bad_rollout_inputs():
    model, actor = still_model(), TanhGaussianActor(4, 1, [8], torch.tensor([-3.0]), torch.tensor([3.0]))
    with pytest.raises(LitIRLError, match="rollout length must be >= 1"):
        model_rollout(model, actor, torch.zeros(2, 4), 0, None)
    with pytest.raises(LitIRLError, match=r"start states must have shape \(rows, 4\)"):
        model_rollout(model, actor, torch.zeros(2, 11), 3, None)
    with pytest.raises(LitIRLError, match="unknown uncertainty penalty"):
        model_rollout(model, actor, torch.zeros(2, 4), 3, None, penalty="frobenius")
