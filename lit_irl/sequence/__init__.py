"""Sequence-level alignment on a synthetic language whose gold reward is known exactly: the world
(:mod:`lit_irl.sequence.world`), the tiny transformer (:mod:`lit_irl.sequence.model`), the losses
(:mod:`lit_irl.sequence.losses`) and the learners (:mod:`lit_irl.sequence.learners`)."""

from lit_irl.sequence.learners import AIHF, DPO, IRL, SFT, SPIN, Pretrain, SequenceLearner
from lit_irl.sequence.world import SyntheticWorld, WorldConfig

__all__ = ["AIHF", "DPO", "IRL", "SFT", "SPIN", "Pretrain", "SequenceLearner", "SyntheticWorld", "WorldConfig"]
