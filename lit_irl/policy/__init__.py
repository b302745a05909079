"""Policy steps: one object per policy learner, sharing the interface ``update(batch, reward, ...)``.

An algorithm (SAC, ML-IRL, later MOPO / AIHF) owns a policy step and decides which rewards it sees.
"""

from lit_irl.policy.ppo import PPOConfig, PPOPolicy
from lit_irl.policy.sac import SACConfig, SACPolicy

__all__ = ["PPOConfig", "PPOPolicy", "SACConfig", "SACPolicy"]
