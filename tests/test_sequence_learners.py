"""The sequence-level learners through the CLI on a small world: pretraining, SFT from it, exact resume,
the report's metrics, bad inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lit_irl.errors import LitIRLError
from lit_irl.reporting import logged_scalars
from lit_irl.sequence import SFT, WorldConfig
from lit_irl.sequence.model import TransformerConfig
from tests.conftest import ROOT, run_cli

SMALL = [
    "--model.init_args.world.vocab", "4", "--model.init_args.world.prompt_length", "2", "--model.init_args.world.horizon", "6",
    "--model.init_args.world.target_kl", "2.0", "--model.init_args.model.vocab", "4", "--model.init_args.model.context", "8",
    "--model.init_args.model.width", "32", "--model.init_args.eval_prompts", "200", "--trainer.enable_progress_bar", "false",
]  # fmt: skip


def fit(config: str, save_dir: Path, total: int, *extra: str) -> Path:
    run_cli("fit", "--config", str(ROOT / f"configs/sequence/{config}.yaml"), *SMALL, "--model.init_args.training.total_steps", str(total),
            "--model.init_args.training.log_every", "50", "--checkpoint.every_n_steps", "100", "--evaluation.every_n_steps", "100",
            "--trainer.logger.init_args.save_dir", str(save_dir), *extra)  # fmt: skip
    (checkpoint,) = save_dir.glob("*/version_*/checkpoints/last.ckpt")
    return checkpoint


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A briefly pretrained base language model, the start of the learners below."""
    return fit("pretrain", tmp_path_factory.mktemp("base"), 100, "--model.init_args.lr", "3e-3")


def test_pretrain_then_sft_and_exact_resume(tmp_path: Path):
    base = fit("pretrain", tmp_path / "base", 200, "--model.init_args.lr", "3e-3")
    sft = fit("sft", tmp_path / "sft", 200, "--model.init_args.init_from", str(base), "--model.init_args.num_demonstrations", "300")
    resumed_dir = tmp_path / "resumed"
    fit("sft", resumed_dir, 100, "--model.init_args.init_from", str(base), "--model.init_args.num_demonstrations", "300")
    resumed = fit("sft", resumed_dir, 200, "--model.init_args.init_from", str(base), "--model.init_args.num_demonstrations", "300", "--ckpt_path", "last")
    a, b = torch.load(sft, weights_only=False)["state_dict"], torch.load(resumed, weights_only=False)["state_dict"]
    assert not [k for k in a if not torch.equal(a[k], b[k])], "resume is bit-identical"
    base_weights = torch.load(base, weights_only=False)["state_dict"]
    assert all(torch.equal(a[f"reference.{k[len('policy.'):]}"], v) for k, v in base_weights.items() if k.startswith("policy.")), "the reference is the base"
    runs = {name: sft.parents[1] if name == "sft" else base.parents[1] for name in ("base", "sft")}
    kl = {name: logged_scalars(folder, "eval/kl_expert_to_policy")[-1][1] for name, folder in runs.items()}
    assert kl["sft"] < kl["base"], f"SFT moves towards the expert: {kl}"
    for tag in ("gold_reward", "gold_reward_se", "kl_policy_to_expert", "win_rate_vs_expert", "kl_to_reference"):
        assert logged_scalars(runs["sft"], f"eval/{tag}"), tag


def test_bad_inputs(tmp_path: Path):
    world = WorldConfig(vocab=4, prompt_length=2, horizon=6, target_kl=2.0)
    with pytest.raises(LitIRLError, match="model.vocab \\(16\\) must equal world.vocab \\(4\\)"):
        SFT(world, TransformerConfig())
    with pytest.raises(LitIRLError, match="must hold a prompt and a response"):
        SFT(world, TransformerConfig(vocab=4, context=6))
    pendulum = ROOT / "zoo/InvertedPendulum-v5/expert.pt"
    with pytest.raises(LitIRLError, match="not a sequence learner's checkpoint"):
        SFT(world, TransformerConfig(vocab=4, context=8), init_from=str(pendulum))


def test_rloo_advantages_leave_one_out():
    from lit_irl.sequence.policy_steps import rloo_loss

    log_probs = torch.zeros(1, 3, requires_grad=True)
    loss, advantages = rloo_loss(log_probs, torch.tensor([[1.0, 2.0, 6.0]]))
    torch.testing.assert_close(advantages, torch.tensor([[1 - 4.0, 2 - 3.5, 6 - 1.5]]))
    loss.backward()
    torch.testing.assert_close(log_probs.grad, -advantages / 3)
    with pytest.raises(LitIRLError, match="at least 2 samples"):
        rloo_loss(torch.zeros(2, 1), torch.zeros(2, 1))


@pytest.mark.parametrize("preset", ["irl_exact", "irl_paper"])
def test_irl_presets_run_and_resume_exactly(tmp_path: Path, base: Path, preset: str):
    args = ["--model.init_args.init_from", str(base), "--model.init_args.num_demonstrations", "64", "--model.init_args.preset", preset,
            "--model.init_args.policy_steps", "4", "--model.init_args.reward_steps", "2", "--model.init_args.batch_size", "16"]  # fmt: skip
    straight = fit("irl", tmp_path / "straight", 200, *args)
    fit("irl", tmp_path / "resumed", 100, *args)
    resumed = fit("irl", tmp_path / "resumed", 200, *args, "--ckpt_path", "last")
    a, b = torch.load(straight, weights_only=False), torch.load(resumed, weights_only=False)
    assert not [k for k in a["state_dict"] if not torch.equal(a["state_dict"][k], b["state_dict"][k])], "resume is bit-identical"
    assert int(a["state_dict"]["iterations"]) == 33
    pairs = a["collection"][0]["pairs"]
    assert len(pairs) == (33 if preset == "irl_paper" else 1), "irl_paper accumulates every iteration's pairs"
    if preset == "irl_exact":
        assert torch.equal(a["state_dict"]["reference.lm_head.weight"], torch.load(base, weights_only=False)["state_dict"]["policy.lm_head.weight"])
    with pytest.raises(LitIRLError, match="preset must be one of"):
        from lit_irl.sequence import IRL

        IRL(WorldConfig(vocab=4, prompt_length=2, horizon=6, target_kl=2.0), TransformerConfig(vocab=4, context=8), preset="irl")


@pytest.mark.parametrize("algo", ["dpo", "spin"])
def test_dpo_and_spin_run_and_resume_exactly(tmp_path: Path, base: Path, algo: str):
    size = ["--model.init_args.num_pairs", "64"] if algo == "dpo" else ["--model.init_args.num_demonstrations", "64", "--model.init_args.steps_per_iteration", "60"]
    args = ["--model.init_args.init_from", str(base), "--model.init_args.batch_size", "16", *size]
    straight = fit(algo, tmp_path / "straight", 200, *args)
    fit(algo, tmp_path / "resumed", 100, *args)
    resumed = fit(algo, tmp_path / "resumed", 200, *args, "--ckpt_path", "last")
    a, b = torch.load(straight, weights_only=False)["state_dict"], torch.load(resumed, weights_only=False)["state_dict"]
    assert not [k for k in a if not torch.equal(a[k], b[k])], "resume is bit-identical"
    base_head = torch.load(base, weights_only=False)["state_dict"]["policy.lm_head.weight"]
    moved_reference = not torch.equal(a["reference.lm_head.weight"], base_head)
    assert moved_reference == (algo == "spin"), "DPO keeps its start as reference; SPIN's is the previous iterate"


def test_sequence_aihf_runs_resumes_and_w1_zero_ignores_demonstrations(tmp_path: Path, base: Path):
    from lit_irl.sequence import AIHF

    args = ["--model.init_args.init_from", str(base), "--model.init_args.num_demonstrations", "32", "--model.init_args.num_pairs", "32",
            "--model.init_args.policy_steps", "4", "--model.init_args.reward_steps", "2", "--model.init_args.batch_size", "16"]  # fmt: skip
    straight = fit("aihf", tmp_path / "straight", 200, *args)
    fit("aihf", tmp_path / "resumed", 100, *args)
    resumed = fit("aihf", tmp_path / "resumed", 200, *args, "--ckpt_path", "last")
    a, b = torch.load(straight, weights_only=False)["state_dict"], torch.load(resumed, weights_only=False)["state_dict"]
    assert not [k for k in a if not torch.equal(a[k], b[k])], "resume is bit-identical"
    world, model = WorldConfig(vocab=4, prompt_length=2, horizon=6, target_kl=2.0), TransformerConfig(vocab=4, context=8, width=32)
    learner = AIHF(world, model, init_from=str(base), num_demonstrations=8, num_pairs=8, w1=0.0, batch_size=4)
    learner.new_pairs()
    torch.manual_seed(0)
    loss, stats = learner.reward_loss()
    assert "reward/margin" not in stats, "w1 = 0: the demonstration term is not computed"
    with pytest.raises(LitIRLError, match="w1 must be >= 0"):
        AIHF(world, model, init_from=str(base), w1=-1.0)


def resumes_exactly(config: str, folder: Path, total: int, *args: str) -> dict:
    """Fit ``total`` steps straight and in two halves (``--ckpt_path last``); assert bit-identical weights; the straight checkpoint."""
    straight = fit(config, folder / "straight", total, *args)
    fit(config, folder / "resumed", total // 2, *args)
    resumed = fit(config, folder / "resumed", total, *args, "--ckpt_path", "last")
    a, b = torch.load(straight, weights_only=False), torch.load(resumed, weights_only=False)
    assert not [k for k in a["state_dict"] if not torch.equal(a["state_dict"][k], b["state_dict"][k])], f"{config}: resume is bit-identical"
    return a


def test_sft_stops_on_held_out_demonstrations_with_the_best_weights(tmp_path: Path, base: Path):
    sft = fit("sft", tmp_path, 2000, "--model.init_args.init_from", str(base), "--model.init_args.num_demonstrations", "20",
              "--model.init_args.validation_fraction", "0.25", "--model.init_args.check_every", "20", "--model.init_args.patience", "3",
              "--model.init_args.lr", "3e-3")  # fmt: skip
    state = torch.load(sft, weights_only=False)
    best = state["collection"][0]["best"]
    assert best["bad_checks"] == 3 and best["step"] < 2000, "15 demonstrations are overfitted long before 2000 steps"
    assert int(state["state_dict"]["gradient_steps"]) == best["step"] + 3 * 20, "it stopped at the third check without improvement"
    policy = {k[len("policy."):]: v for k, v in state["state_dict"].items() if k.startswith("policy.")}
    assert all(torch.equal(policy[k], v) for k, v in best["weights"].items()), "the run ends with the best check's weights"


def test_rlhf_reward_model_then_ppo_resume_exactly(tmp_path: Path, base: Path):
    rm = fit("reward_model", tmp_path / "rm", 100, "--model.init_args.init_from", str(base), "--model.init_args.num_pairs", "64",
             "--model.init_args.batch_size", "16", "--model.init_args.lr", "1e-3")  # fmt: skip
    runs = {"rm": rm.parents[1]}
    rm_state = torch.load(rm, weights_only=False)
    best = rm_state["collection"][0]["best"]
    assert 0 < best["step"] <= 100 and best["loss"] < 0.6932, "early stopping on the held-out pairs' Bradley-Terry loss (log 2 at the zero start)"
    reward = {k[len("reward."):]: v for k, v in rm_state["state_dict"].items() if k.startswith("reward.")}
    assert all(torch.equal(reward[k], v) for k, v in best["weights"].items()), "the run ends with the best check's reward"
    accuracy = logged_scalars(runs["rm"], "eval/reward_pair_accuracy")
    assert accuracy and 0 <= accuracy[-1][1] <= 1 and logged_scalars(runs["rm"], "eval/reward_gold_correlation")
    # 3 PPO epochs per rollout: the resume at step 100 falls inside a rollout, which the checkpoint carries.
    args = ["--model.init_args.init_from", str(base), "--model.init_args.reward_from", str(rm), "--model.init_args.batch_size", "16",
            "--model.init_args.ppo.epochs", "3"]  # fmt: skip
    state = resumes_exactly("ppo", tmp_path / "ppo", 200, *args)
    rm_weights = torch.load(rm, weights_only=False)["state_dict"]
    assert all(torch.equal(state["state_dict"][f"reward_model.{k[len('reward.'):]}"], v) for k, v in rm_weights.items() if k.startswith("reward.")), "the reward is frozen"
    assert state["collection"][0]["policy_update"]["updates"] == 200 % 3, "the checkpoint carries the rollout in flight"
    fit("ppo", tmp_path / "gold", 50, "--model.init_args.init_from", str(base), "--model.init_args.batch_size", "16")  # the oracle's reward
    world, model = WorldConfig(vocab=4, prompt_length=2, horizon=6, target_kl=2.0), TransformerConfig(vocab=4, context=8, width=32)
    from lit_irl.sequence import PPO

    with pytest.raises(LitIRLError, match="holds no reward model"):
        PPO(world, model, init_from=str(base), reward_from=str(base))
    with pytest.raises(LitIRLError, match="policy_update must be one of"):
        PPO(world, model, init_from=str(base), policy_update="grpo")


@pytest.mark.parametrize("policy_update", ["ppo", "best_of_n"])
def test_irl_with_ppo_or_best_of_n_policy_steps_resumes_exactly(tmp_path: Path, base: Path, policy_update: str):
    args = ["--model.init_args.init_from", str(base), "--model.init_args.num_demonstrations", "32", "--model.init_args.policy_steps", "6",
            "--model.init_args.reward_steps", "2", "--model.init_args.batch_size", "16", "--model.init_args.policy_update", policy_update,
            "--model.init_args.ppo.epochs", "4", "--model.init_args.best_of", "4"]  # fmt: skip
    state = resumes_exactly("irl", tmp_path, 200, *args)
    assert ("critic.lm_head.weight" in state["state_dict"]) == (policy_update == "ppo"), "only PPO has a critic"


@pytest.mark.parametrize("algo", ["aihf_dpo", "self_play_aihf"])
def test_aihf_dpo_and_self_play_aihf_resume_exactly(tmp_path: Path, base: Path, algo: str):
    args = ["--model.init_args.init_from", str(base), "--model.init_args.num_demonstrations", "32", "--model.init_args.num_pairs", "32",
            "--model.init_args.batch_size", "16"] + (["--model.init_args.steps_per_iteration", "60"] if algo == "self_play_aihf" else [])  # fmt: skip
    state = resumes_exactly(algo, tmp_path, 200, *args)
    base_head = torch.load(base, weights_only=False)["state_dict"]["policy.lm_head.weight"]
    assert torch.equal(state["state_dict"]["reference.lm_head.weight"], base_head) == (algo == "aihf_dpo"), "self-play's reference is the previous iterate"


def test_demonstration_files(tmp_path: Path, base: Path):
    from lit_irl.sequence import IRL, SyntheticWorld, load_demonstrations, save_demonstrations

    world_config, model = WorldConfig(vocab=4, prompt_length=2, horizon=6, target_kl=2.0), TransformerConfig(vocab=4, context=8, width=32)
    world = SyntheticWorld(world_config)
    prompts = world.sample_prompts(10, torch.Generator().manual_seed(0))
    responses = world.sample_responses(prompts, torch.Generator().manual_seed(1))
    path = tmp_path / "demos.jsonl"
    save_demonstrations(path, prompts, responses)
    loaded = load_demonstrations(path, world)
    assert torch.equal(loaded[0], prompts) and torch.equal(loaded[1], responses)
    learner = IRL(world_config, model, init_from=str(base), demonstrations=str(path))
    assert torch.equal(learner.demo_responses, responses), "a file replaces the drawn demonstrations"
    bad = {"empty.jsonl": "", "vocabulary.jsonl": '{"prompt": [0, 1], "response": [0, 1, 2, 3, 4, 0]}\n',
           "long.jsonl": '{"prompt": [0, 1], "response": [0, 1, 2, 3, 0, 0, 1]}\n', "broken.jsonl": '{"prompt": [0, 1]}\n'}  # fmt: skip
    messages = {"empty.jsonl": "hold no demonstration", "vocabulary.jsonl": "outside the vocabulary 0..3",
                "long.jsonl": "has 7 tokens; this world's have 6", "broken.jsonl": "line 1: expected"}  # fmt: skip
    for name, text in bad.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(LitIRLError, match=messages[name]):
            SFT(world_config, model, demonstrations=str(tmp_path / name))
    with pytest.raises(LitIRLError, match="file does not exist"):
        SFT(world_config, model, demonstrations=str(tmp_path / "missing.jsonl"))
    with pytest.raises(LitIRLError, match="too few to hold out"):
        SFT(world_config, model, num_demonstrations=1, validation_fraction=0.5)
