"""Model-based parts: the Gaussian world-model ensemble, uncertainty penalties, termination functions.

Plain torch modules and functions; the learner that fits a world model is :class:`lit_irl.algos.WorldModel`.
"""

from lit_irl.models.penalties import PENALTIES, uncertainty_penalty
from lit_irl.models.rollout import model_rollout
from lit_irl.models.termination import TERMINATIONS, termination_of
from lit_irl.models.world_model import GaussianEnsemble

__all__ = ["PENALTIES", "TERMINATIONS", "GaussianEnsemble", "model_rollout", "termination_of", "uncertainty_penalty"]
