"""Reward models and reward losses, shared by every IRL / preference / adversarial algorithm."""

from lit_irl.rewards.losses import discounted_returns, ml_irl_loss, ml_irl_sample_mean_loss
from lit_irl.rewards.models import RewardConfig, RewardModel

__all__ = ["RewardConfig", "RewardModel", "discounted_returns", "ml_irl_loss", "ml_irl_sample_mean_loss"]
