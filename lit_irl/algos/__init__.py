"""One LightningModule per algorithm; pick one with ``--model lit_irl.algos.<Name>``.

Every learner stands on :class:`Learner` (progress, evaluation, checkpoints, the NaN guard), through
one of its kinds: :class:`OffPolicyLearner` (SAC, ML-IRL, AIHF, f-IRL, GAIL, AIRL, SQIL, IQ-Learn), :class:`OnlineLearner` (PPO) or
:class:`OfflineLearner` (BC, ValueDICE, the BT reward model, the world model, MOPO, Offline ML-IRL, CLARE).
"""

from lit_irl.algos.aihf import AIHF
from lit_irl.algos.airl import AIRL
from lit_irl.algos.bc import BC
from lit_irl.algos.clare import CLARE
from lit_irl.algos.f_irl import FIRL
from lit_irl.algos.gail import GAIL
from lit_irl.algos.iq_learn import IQLearn
from lit_irl.algos.learner import Learner, TrainingConfig
from lit_irl.algos.ml_irl import MLIRL
from lit_irl.algos.mopo import MOPO, MOPOConfig
from lit_irl.algos.offline_ml_irl import OfflineMLIRL
from lit_irl.algos.off_policy import OffPolicyConfig, OffPolicyLearner
from lit_irl.algos.offline import OfflineLearner
from lit_irl.algos.online import CollectionConfig, OnlineLearner
from lit_irl.algos.ppo import PPO
from lit_irl.algos.preference_reward import PreferenceReward
from lit_irl.algos.sac import SAC
from lit_irl.algos.sqil import SQIL
from lit_irl.algos.value_dice import ValueDICE
from lit_irl.algos.world_model import WorldModel, WorldModelConfig, load_world_model

__all__ = [
    "AIHF",
    "AIRL",
    "BC",
    "CLARE",
    "FIRL",
    "GAIL",
    "IQLearn",
    "MLIRL",
    "MOPO",
    "MOPOConfig",
    "PPO",
    "PreferenceReward",
    "SAC",
    "SQIL",
    "CollectionConfig",
    "Learner",
    "OffPolicyConfig",
    "OffPolicyLearner",
    "OfflineLearner",
    "OfflineMLIRL",
    "OnlineLearner",
    "TrainingConfig",
    "ValueDICE",
    "WorldModel",
    "WorldModelConfig",
    "load_world_model",
]
