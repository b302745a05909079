"""Sequence-level alignment on a synthetic language whose gold reward is known exactly (issue: the
sequence-level track): the world (:mod:`lit_irl.sequence.world`); learners follow."""

from lit_irl.sequence.world import SyntheticWorld, WorldConfig

__all__ = ["SyntheticWorld", "WorldConfig"]
