"""Sequence-level alignment on a synthetic language whose gold reward is known exactly: the world
(:mod:`lit_irl.sequence.world`), the tiny transformer (:mod:`lit_irl.sequence.model`), the losses
(:mod:`lit_irl.sequence.losses`), the policy steps (:mod:`lit_irl.sequence.policy_steps`), the
learners (:mod:`lit_irl.sequence.learners`) and the RLHF pipeline (:mod:`lit_irl.sequence.rlhf`)."""

from lit_irl.sequence.demonstrations import load_demonstrations, save_demonstrations
from lit_irl.sequence.learners import AIHF, AIHFDPO, DPO, IRL, SFT, SPIN, Pretrain, SelfPlayAIHF, SequenceLearner
from lit_irl.sequence.policy_steps import PPOConfig
from lit_irl.sequence.rlhf import PPO, RewardModel
from lit_irl.sequence.world import SyntheticWorld, WorldConfig

__all__ = ["AIHF", "AIHFDPO", "DPO", "IRL", "PPO", "PPOConfig", "SFT", "SPIN", "Pretrain", "RewardModel", "SelfPlayAIHF", "SequenceLearner",
           "SyntheticWorld", "WorldConfig", "load_demonstrations", "save_demonstrations"]
