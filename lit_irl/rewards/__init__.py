"""Reward models and reward losses, shared by every IRL / preference / adversarial algorithm."""

from lit_irl.rewards.losses import (
    aihf_loss,
    bradley_terry_loss,
    discounted_returns,
    ml_irl_loss,
    ml_irl_sample_mean_loss,
    preferred_and_rejected,
)
from lit_irl.rewards.models import RewardConfig, RewardModel, refuse_scale_penalty

__all__ = [
    "RewardConfig", "RewardModel", "aihf_loss", "bradley_terry_loss", "discounted_returns", "ml_irl_loss",
    "ml_irl_sample_mean_loss", "preferred_and_rejected", "refuse_scale_penalty",
]  # fmt: skip
