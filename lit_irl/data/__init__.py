"""Data layer: replay buffers and env runners (collection)."""

from lit_irl.data.collect import COLLECTORS, EnvRunner, TorchRLRunner, make_runner
from lit_irl.data.replay import TransitionReplay

__all__ = ["COLLECTORS", "EnvRunner", "TorchRLRunner", "TransitionReplay", "make_runner"]
