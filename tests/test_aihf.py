"""AIHF and the RLHF pipeline on InvertedPendulum-v5 with tiny budgets: the equivalences, CLI smoke runs
(SAC and PPO policy steps; BC -> BT reward model -> SAC), exact resume, bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lit_irl.algos import AIHF, PreferenceReward, TrainingConfig
from lit_irl.data.preferences import build_pairs, load_preferences, save_preferences
from lit_irl.envs import EnvConfig
from lit_irl.errors import LitIRLError
from lit_irl.policy import SACConfig
from lit_irl.rewards import RewardConfig
from tests.conftest import ROOT, run_cli
from tests.conftest import tiny_args as tiny_cli_args
from tests.test_ml_irl import short_demos  # noqa: F401  (fixture)

CONFIG = str(ROOT / "configs/aihf/inverted_pendulum.yaml")
ML_IRL = str(ROOT / "configs/ml_irl/inverted_pendulum.yaml")
PENDULUM = EnvConfig("InvertedPendulum-v5")
DEMOS = str(ROOT / "zoo/InvertedPendulum-v5/expert_demos.hdf5")
SMALL = SACConfig(actor_hidden=[32, 32], critic_hidden=[32, 32], batch_size=64)


@pytest.fixture(scope="module")
def preferences(tmp_path_factory) -> str:
    from lit_irl.data.cli import main as data_cli

    out = tmp_path_factory.mktemp("prefs") / "prefs.hdf5"
    data_cli(["preferences", "--checkpoints", str(ROOT / "zoo/InvertedPendulum-v5/medium.pt"), str(ROOT / "zoo/InvertedPendulum-v5/expert.pt"),
              "--episodes-per-checkpoint", "3", "--segment-length", "10", "--pairs", "60", "--pair-tiers", "low", "medium", "high",
              "--out", str(out)])  # fmt: skip
    return str(out)


def tiny_args(config: str, save_dir: Path, total: int = 600) -> list[str]:
    return [
        *tiny_cli_args(config, save_dir, total, warmup=100, log_every=200),
        "--model.init_args.env.termination", "fixed_horizon", "--model.init_args.env.max_episode_steps", "100",
        "--model.init_args.env_steps_per_iteration", "200", "--model.init_args.agent_trajectories", "2",
    ]  # fmt: skip


def _last(save_dir: Path) -> dict:
    (ckpt,) = save_dir.glob("*/version_*/checkpoints/last.ckpt")
    return torch.load(ckpt, weights_only=False)


def test_without_preferences_aihf_is_ml_irl(tmp_path: Path, short_demos: str):
    """No preference data: the same parameters as ML-IRL under the same seed (config for config), here with
    two reward steps per iteration (the shared reward step's loop)."""
    ml_irl, aihf = tmp_path / "ml_irl", tmp_path / "aihf"
    same = ["--model.init_args.demonstrations", short_demos, "--model.init_args.reward.inputs", "sa", "--model.init_args.reward.lr", "1.0e-3",
            "--model.init_args.sac.actor_lr", "3.0e-4", "--model.init_args.sac.critic_lr", "3.0e-4", "--model.init_args.held_out_expert_trajectories", "0",
            "--model.init_args.reward_steps_per_iteration", "2"]
    run_cli("fit", *tiny_args(ML_IRL, ml_irl), *same)
    run_cli("fit", *tiny_args(CONFIG, aihf), *same, "--model.init_args.preferences", "null")
    a, b = _last(ml_irl)["state_dict"], _last(aihf)["state_dict"]
    assert set(a) == set(b)
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"AIHF without preferences differs from ML-IRL in {different}"
    assert int(b["reward_steps"]) == 6  # 3 iterations x 2


def test_w1_zero_is_preference_only_reward_learning(preferences: str):
    """w1 = 0: the reward steps are the BT reward model's (same pairs, same steps), whatever the policy does."""
    reward = RewardConfig(inputs="sa", hidden=[16, 16], lr=1e-3, weight_decay=0.0)
    aihf = AIHF(PENDULUM, DEMOS, preferences, w1=0.0, preference_batch=16, preference_temperature=1.0, num_expert_trajectories=1,
                reward=reward, sac=SMALL, training=TrainingConfig(seed=3))
    alone = PreferenceReward(PENDULUM, preferences, reward, batch_size=16, temperature=1.0, training=TrainingConfig(seed=3))
    alone.reward.load_state_dict(aihf.reward.state_dict())
    optimizers = aihf.reward.make_optimizer(), alone.reward.make_optimizer()
    trajectories = torch.stack([aihf.expert] * 2)  # any "agent" data: with w1 = 0 it must not matter
    for step in range(5):
        agent = trajectories[step % 2] if step % 2 else aihf.expert.apply(lambda x: x + 1.0 if x.is_floating_point() else x)
        loss_aihf, _ = aihf.reward_loss(agent, torch.ones(agent.shape))
        from lit_irl.rewards import bradley_terry_loss

        pairs = alone.pairs.batch(16, 0, step)
        loss_alone, _ = bradley_terry_loss(*alone.pairs.returns(pairs, alone.reward, 1.0), 1.0)
        assert torch.equal(loss_aihf, loss_alone)
        for loss, optimizer in zip((loss_aihf, loss_alone), optimizers):
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        aihf.reward_steps += 1
    for (name, p), q in zip(aihf.reward.state_dict().items(), alone.reward.state_dict().values()):
        assert torch.equal(p, q), name


def test_aihf_cli_sac_and_ppo_and_resume(tmp_path: Path, preferences: str, short_demos: str):
    from lit_irl.reporting import logged_scalars

    common = ["--model.init_args.demonstrations", short_demos, "--model.init_args.preferences", preferences, "--model.init_args.preference_batch", "8"]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    run_cli("fit", *tiny_args(CONFIG, straight), *common)
    (run_dir,) = straight.glob("aihf-*/version_*")
    for tag in ("preference/heldout_accuracy", "preference/loss", "reward/preferred_step_mean", "reward/rejected_step_mean", "reward_recovery/epic"):
        assert logged_scalars(run_dir, tag), f"{tag} is logged"
    run_cli("fit", *tiny_args(CONFIG, resumed, total=400), *common)
    run_cli("fit", *tiny_args(CONFIG, resumed), *common, "--ckpt_path", "last")
    a, b = _last(straight), _last(resumed)
    different = [k for k in a["state_dict"] if not torch.equal(a["state_dict"][k], b["state_dict"][k])]
    assert not different, f"differ after resume: {different}"
    for sa, sb in zip(a["optimizer_states"][-1]["state"].values(), b["optimizer_states"][-1]["state"].values()):
        assert all(torch.equal(sa[k], sb[k]) for k in sa), "the reward optimizer resumes exactly"
    ppo = tmp_path / "ppo"
    run_cli("fit", *tiny_args(CONFIG, ppo, total=400), *common, "--model.init_args.policy_step", "ppo",
            "--model.init_args.collection.env_steps_per_batch", "100", "--model.init_args.ppo.actor_hidden", "[16, 16]")
    state = _last(ppo)["state_dict"]
    assert int(state["reward_steps"]) == 2 and any(k.startswith("policy.critic.") for k in state)


def test_rlhf_pipeline_cli(tmp_path: Path, preferences: str):
    """BC on the demonstrations -> BT reward model on the preferences -> SAC from the BC policy on it, KL to BC."""
    bc_dir, rm_dir, rl_dir = tmp_path / "bc", tmp_path / "rm", tmp_path / "rl"
    run_cli("fit", "--config", str(ROOT / "configs/bc/inverted_pendulum.yaml"), "--model.init_args.training.total_steps", "100",
            "--model.init_args.actor_hidden", "[32, 32]", "--model.init_args.training.eval_episodes", "1",
            "--checkpoint.every_n_steps", "100", "--evaluation.every_n_steps", "100", "--trainer.enable_progress_bar", "false",
            "--trainer.logger.init_args.save_dir", str(bc_dir))  # fmt: skip
    run_cli("fit", "--config", str(ROOT / "configs/preference_reward/inverted_pendulum.yaml"), "--model.init_args.preferences", preferences,
            "--model.init_args.training.total_steps", "100", "--checkpoint.every_n_steps", "100", "--evaluation.every_n_steps", "100",
            "--trainer.enable_progress_bar", "false", "--trainer.logger.init_args.save_dir", str(rm_dir))  # fmt: skip
    (bc,), (rm,) = bc_dir.glob("*/version_*/checkpoints/last.ckpt"), rm_dir.glob("*/version_*/checkpoints/last.ckpt")
    from lit_irl.reporting import logged_scalars

    assert logged_scalars(rm.parents[1], "eval/heldout_accuracy"), "the reward model reports its held-out accuracy"
    run_cli("fit", *tiny_cli_args(str(ROOT / "configs/sac/inverted_pendulum.yaml"), rl_dir, 300, warmup=100, log_every=100),
            "--model.init_args.init_from", str(bc), "--model.init_args.reward_from", str(rm), "--model.init_args.sac.kl_coef", "0.1")
    bc_actor = torch.load(bc, weights_only=False)["state_dict"]
    rl = _last(rl_dir)["state_dict"]
    reference = {k[len("policy.reference."):]: v for k, v in rl.items() if k.startswith("policy.reference.")}
    bc_weights = {k[len("actor."):]: v for k, v in bc_actor.items() if k.startswith("actor.")}
    assert reference and reference.keys() == bc_weights.keys(), "the KL reference is the BC policy"
    assert all(torch.equal(reference[k], bc_weights[k]) for k in reference), "... frozen"
    assert not all(torch.equal(rl[f"actor.{k}"], bc_weights[k]) for k in bc_weights), "the actor started from BC and moved"


def test_bad_inputs(tmp_path: Path, preferences: str):
    with pytest.raises(LitIRLError, match="w1 .* must be >= 0"):
        AIHF(PENDULUM, DEMOS, preferences, w1=-1.0, num_expert_trajectories=1, sac=SMALL)
    with pytest.raises(LitIRLError, match="w1 = 0 and no preferences leave nothing"):
        AIHF(PENDULUM, DEMOS, None, w1=0.0, num_expert_trajectories=1, sac=SMALL)
    with pytest.raises(LitIRLError, match="made for InvertedPendulum-v5, the config names Hopper-v5|observations have 4 dims, the env has 11"):
        AIHF(EnvConfig("Hopper-v5"), str(ROOT / "zoo/Hopper-v5/expert_demos.hdf5"), preferences, num_expert_trajectories=1, sac=SMALL)
    pairs = load_preferences(preferences)
    pairs.obs_b, pairs.act_b, pairs.next_obs_b = pairs.obs_b[:, :5], pairs.act_b[:, :5], pairs.next_obs_b[:, :5]
    unequal = str(save_preferences(tmp_path / "unequal.hdf5", pairs))
    with pytest.raises(LitIRLError, match="segments a have 10 steps, segments b 5; .*per_step"):
        AIHF(PENDULUM, DEMOS, unequal, num_expert_trajectories=1, sac=SMALL)
    AIHF(PENDULUM, DEMOS, unequal, num_expert_trajectories=1, sac=SMALL, preference_per_step=True)  # normalized: accepted
    with pytest.raises(LitIRLError, match="entropy_coef, which is 0"):
        from lit_irl.policy.ppo import PPOConfig

        AIHF(PENDULUM, DEMOS, preferences, num_expert_trajectories=1, policy_step="ppo", ppo=PPOConfig(entropy_coef=0.0))
    with pytest.raises(LitIRLError, match="held_out_fraction must be in"):
        PreferenceReward(PENDULUM, preferences, held_out_fraction=1.0)
    with pytest.raises(LitIRLError, match="kl_coef > 0 needs a reference policy"):
        from lit_irl.algos import SAC

        SAC(PENDULUM, SACConfig(kl_coef=0.1))
    assert np.isfinite(load_preferences(preferences).next_obs_a).all()
