"""One LightningModule per algorithm; pick one with ``--model lit_irl.algos.<Name>``."""

from lit_irl.algos.base import OnlineRLModule
from lit_irl.algos.ml_irl import MLIRL
from lit_irl.algos.sac import SAC

__all__ = ["MLIRL", "OnlineRLModule", "SAC"]
