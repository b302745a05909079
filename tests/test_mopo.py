"""MOPO on a small InvertedPendulum-v5 dataset: CLI smoke run, exact resume, the penalized mix, bad inputs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from lit_irl.algos import MOPO, MOPOConfig
from lit_irl.data.d4rl import save_dataset
from lit_irl.data.rollout import rollout
from lit_irl.envs import EnvConfig
from lit_irl.errors import LitIRLError
from lit_irl.policy import SACConfig
from tests.conftest import ROOT, run_cli

PENDULUM = EnvConfig("InvertedPendulum-v5")
SMALL_SAC = SACConfig(actor_hidden=[32, 32], critic_hidden=[32, 32], batch_size=64)
SMALL_MOPO = MOPOConfig(rollout_length=3, rollout_batch=200, rollout_every=50, retain_rollouts=2)


def _world_model(tmp_path: Path, dataset: str, reward_head: bool) -> str:
    save_dir = tmp_path / f"wm_{reward_head}"
    run_cli(
        "fit", "--config", str(ROOT / "configs/world_model/inverted_pendulum.yaml"),
        "--model.init_args.dataset", dataset,
        "--model.init_args.world_model.num_models", "3", "--model.init_args.world_model.num_elites", "2",
        "--model.init_args.world_model.hidden", "[16, 16]", "--model.init_args.world_model.batch_size", "64",
        "--model.init_args.world_model.weight_decay", "1.0e-5", "--model.init_args.world_model.max_epochs", "3",
        "--model.init_args.world_model.predict_reward", str(reward_head).lower(),
        "--model.init_args.training.total_steps", "150", "--model.init_args.training.log_every", "50",
        "--checkpoint.every_n_steps", "150", "--evaluation.every_n_steps", "150",
        "--trainer.enable_progress_bar", "false", "--trainer.logger.init_args.save_dir", str(save_dir),
    )  # fmt: skip
    (checkpoint,) = save_dir.glob("*/version_*/checkpoints/last.ckpt")
    return str(checkpoint)


@pytest.fixture(scope="module")
def pendulum_setup(tmp_path_factory) -> tuple[str, str, str]:
    tmp_path = tmp_path_factory.mktemp("mopo")
    dataset = str(save_dataset(tmp_path / "random.hdf5", rollout(PENDULUM, None, transitions=1000, seed=0, num_envs=4)))
    return dataset, _world_model(tmp_path, dataset, True), _world_model(tmp_path, dataset, False)


def mopo_args(dataset: str, world_model: str, save_dir: Path, total: int = 200) -> list[str]:
    return [
        "--config", str(ROOT / "configs/mopo/inverted_pendulum.yaml"),
        "--model.init_args.dataset", dataset, "--model.init_args.world_model", world_model,
        "--model.init_args.mopo.rollout_length", "3", "--model.init_args.mopo.rollout_batch", "200",
        "--model.init_args.mopo.rollout_every", "50", "--model.init_args.mopo.retain_rollouts", "2",
        "--model.init_args.sac.actor_hidden", "[32, 32]", "--model.init_args.sac.critic_hidden", "[32, 32]",
        "--model.init_args.sac.batch_size", "64",
        "--model.init_args.training.total_steps", str(total), "--model.init_args.training.log_every", "50",
        "--model.init_args.training.eval_episodes", "2",
        "--checkpoint.every_n_steps", "100", "--evaluation.every_n_steps", "100",
        "--trainer.enable_progress_bar", "false", "--trainer.logger.init_args.save_dir", str(save_dir),
    ]  # fmt: skip


def test_cli_smoke_and_resume_is_bit_identical(pendulum_setup, tmp_path: Path):
    dataset, world_model, _ = pendulum_setup
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    run_cli("fit", *mopo_args(dataset, world_model, straight))
    run_cli("fit", *mopo_args(dataset, world_model, resumed, total=100))
    run_cli("fit", *mopo_args(dataset, world_model, resumed), "--ckpt_path", "last")
    (a,) = straight.glob("*/version_*/checkpoints/last.ckpt")
    (b,) = resumed.glob("*/version_*/checkpoints/last.ckpt")
    a, b = torch.load(a, weights_only=False), torch.load(b, weights_only=False)
    assert int(a["state_dict"]["gradient_steps"]) == 200 and int(a["state_dict"]["rollouts"]) == 4
    different = [k for k in a["state_dict"] if not torch.equal(a["state_dict"][k], b["state_dict"][k])]
    assert not different, f"differ after resume: {different}"


def test_model_rows_are_penalized_and_the_mix_holds_the_real_ratio(pendulum_setup):
    dataset, world_model, _ = pendulum_setup
    module = MOPO(PENDULUM, dataset, world_model, MOPOConfig(**{**SMALL_MOPO.__dict__, "penalty_coef": 2.0, "real_ratio": 0.25}), SMALL_SAC)
    stats = module.rollout()
    assert len(module.model_buffer) > 0 and stats["mopo/penalty_mean"] > 0
    # What the SAC step is paid on the new rows: reward - lambda u, the charged part at lambda = 2.
    assert torch.isclose(stats["mopo/charged_penalty_mean"], 2.0 * module.model_buffer.storage[: len(module.model_buffer)]["penalty"].mean(), rtol=1e-4)
    assert torch.isclose(stats["mopo/penalized_reward_mean"], stats["mopo/reward_mean"] - stats["mopo/charged_penalty_mean"], rtol=1e-4, atol=1e-6)
    assert 0 <= stats["mopo/penalized_negative_fraction"] <= 1 and 0 <= stats["mopo/rollout_ended_fraction"] <= 1
    module.reward_of = lambda batch, real: batch["reward"] if real else torch.zeros(batch.shape[0])  # only the penalty left
    batch, reward = module.sac_batch()
    assert batch.shape[0] == 64 and reward.shape == (64,)
    real = 16  # round(0.25 * 64)
    penalties = module.model_buffer.storage[: len(module.model_buffer)]["penalty"]
    charged = -reward[real:] / 2.0  # model rows: 0 - lambda * u with lambda = 2
    assert (charged > 0).all()
    assert all(torch.isclose(penalties, value).any() for value in charged), "every model row pays lambda times its own penalty"
    dataset_rewards = module.real["reward"]
    assert all(torch.isclose(dataset_rewards, value).any() for value in reward[:real]), "real rows keep the dataset reward"


def test_bad_inputs(pendulum_setup, tmp_path: Path):
    dataset, world_model, without_reward_head = pendulum_setup
    with pytest.raises(LitIRLError, match="penalty_coef .* must be >= 0"):
        MOPOConfig(penalty_coef=-1.0)
    with pytest.raises(LitIRLError, match="must be > 0"):
        MOPOConfig(rollout_length=0)
    with pytest.raises(LitIRLError, match="unknown uncertainty penalty"):
        MOPOConfig(penalty="frobenius")
    with pytest.raises(LitIRLError, match="needs a world model with a reward head"):
        MOPO(PENDULUM, dataset, without_reward_head, SMALL_MOPO, SMALL_SAC)
    with pytest.raises(LitIRLError, match="world model .* is for InvertedPendulum-v5"):
        MOPO(EnvConfig("Hopper-v5"), str(ROOT / "zoo/Hopper-v5/expert_demos.hdf5"), world_model, SMALL_MOPO, SMALL_SAC)


# ------------------------------------------------------------------ Offline ML-IRL
DEMOS = str(ROOT / "zoo/InvertedPendulum-v5/expert_demos.hdf5")


def irl_args(dataset: str, world_model: str, save_dir: Path, total: int = 200) -> list[str]:
    args = mopo_args(dataset, world_model, save_dir, total)
    args[1] = str(ROOT / "configs/offline_ml_irl/inverted_pendulum.yaml")
    return [*args, "--model.init_args.demonstrations", DEMOS, "--model.init_args.num_expert_trajectories", "2",
            "--model.init_args.reward_horizon", "20", "--model.init_args.reward_every", "50", "--model.init_args.reward.hidden", "[16, 16]"]


@pytest.fixture(scope="module")
def irl_checkpoint(pendulum_setup, tmp_path_factory) -> str:
    dataset, _, world_model = pendulum_setup  # the world model without a reward head
    straight = tmp_path_factory.mktemp("irl_straight")
    run_cli("fit", *irl_args(dataset, world_model, straight))
    (checkpoint,) = straight.glob("*/version_*/checkpoints/last.ckpt")
    return str(checkpoint)


def test_offline_ml_irl_cli_smoke_and_resume_is_bit_identical(pendulum_setup, irl_checkpoint: str, tmp_path: Path):
    dataset, _, world_model = pendulum_setup
    resumed = tmp_path / "resumed"
    run_cli("fit", *irl_args(dataset, world_model, resumed, total=100))
    run_cli("fit", *irl_args(dataset, world_model, resumed), "--ckpt_path", "last")
    a = irl_checkpoint
    (b,) = resumed.glob("*/version_*/checkpoints/last.ckpt")
    a, b = torch.load(a, weights_only=False), torch.load(b, weights_only=False)
    assert int(a["state_dict"]["reward_steps"]) == 4 and any(k.startswith("reward.net") for k in a["state_dict"])
    from lit_irl.reporting import logged_scalars

    (run_dir,) = Path(irl_checkpoint).parents[1:2]
    epic = logged_scalars(run_dir, "reward_recovery/epic")
    assert epic and 0.0 <= epic[-1][1] <= 1.0, "evaluations log the EPIC distance of the learned reward"
    logged = logged_scalars(run_dir, "perf/gradient_steps_per_s")
    paid = logged_scalars(run_dir, "mopo/penalized_reward_mean")
    assert len(paid) == len(logged) > 1, "every log shows what the latest model rollout is paid, not only logs of a batch that made one"
    different = [k for k in a["state_dict"] if not torch.equal(a["state_dict"][k], b["state_dict"][k])]
    assert not different, f"differ after resume: {different}"
    for sa, sb in zip(a["optimizer_states"][-1]["state"].values(), b["optimizer_states"][-1]["state"].values()):
        assert all(torch.equal(sa[k], sb[k]) for k in sa), "the reward optimizer resumes exactly"


def test_offline_ml_irl_never_learns_from_the_dataset_reward(pendulum_setup, monkeypatch):
    from lit_irl.algos import OfflineMLIRL
    from lit_irl.rewards import RewardConfig

    dataset, _, world_model = pendulum_setup
    module = OfflineMLIRL(PENDULUM, dataset, world_model, DEMOS, 2, RewardConfig(inputs="sa", hidden=[16]), reward_horizon=20,
                          reward_every=50, mopo=SMALL_MOPO, sac=SMALL_SAC)
    assert "reward" not in module.real, "the dataset reward is not even kept"
    assert "true_reward" not in module.expert.keys(), "nor the expert's env reward"
    module.rollout()
    assert "model_reward" not in module.model_buffer.storage[: len(module.model_buffer)].keys()
    batch, reward = module.sac_batch()
    with torch.no_grad():
        learned = module.reward(batch)
    real = round(SMALL_MOPO.real_ratio * 64)
    torch.testing.assert_close(reward[:real], learned[:real])  # real rows: r_theta only, no penalty
    assert (reward[real:] <= learned[real:] + 1e-6).all(), "model rows: r_theta - lambda u"


def test_offline_ml_irl_bad_inputs(pendulum_setup):
    from lit_irl.algos import OfflineMLIRL

    dataset, with_reward_head, world_model = pendulum_setup
    with pytest.raises(LitIRLError, match=r"has a reward head, trained on the dataset reward; .*predict_reward: false"):
        OfflineMLIRL(PENDULUM, dataset, with_reward_head, DEMOS, 2, reward_horizon=20, mopo=SMALL_MOPO, sac=SMALL_SAC)
    with pytest.raises(LitIRLError, match="fewer than reward_horizon 5000; set reward_horizon <="):
        OfflineMLIRL(PENDULUM, dataset, world_model, DEMOS, 2, reward_horizon=5000, mopo=SMALL_MOPO, sac=SMALL_SAC)


def test_offline_reward_transfer_trains_mopo_on_the_frozen_learned_reward(pendulum_setup, irl_checkpoint: str, tmp_path: Path):
    dataset, _, world_model = pendulum_setup  # no reward head needed: the transferred reward pays every row
    module = MOPO(PENDULUM, dataset, world_model, SMALL_MOPO, SMALL_SAC, reward_from=irl_checkpoint)
    assert "reward" not in module.real, "the dataset reward is not kept"
    module.rollout()
    batch, reward = module.sac_batch()
    with torch.no_grad():
        transferred = module.transferred_reward(batch)
    real = round(SMALL_MOPO.real_ratio * 64)
    torch.testing.assert_close(reward[:real], transferred[:real])
    learned = torch.load(irl_checkpoint, weights_only=False)["state_dict"]
    assert torch.equal(module.transferred_reward.net[0].weight, learned["reward.net.0.weight"]), "the learned reward, frozen"
    run_cli("fit", *mopo_args(dataset, world_model, tmp_path / "transfer", total=100), "--model.init_args.reward_from", irl_checkpoint)


def test_relabel_writes_the_learned_reward_and_keeps_the_files_own(pendulum_setup, irl_checkpoint: str, tmp_path: Path, capsys):
    from lit_irl.data.cli import main as data_cli
    from lit_irl.data.d4rl import load_dataset
    from lit_irl.rewards.models import load_reward

    dataset = pendulum_setup[0]
    out = tmp_path / "relabelled.hdf5"
    data_cli(["relabel", "--dataset", dataset, "--reward-from", irl_checkpoint, "--env", "InvertedPendulum-v5", "--out", str(out)])
    source, relabelled = load_dataset(dataset), load_dataset(out)
    assert np.array_equal(relabelled.infos["dataset_rewards"], source.rewards), "the file's own rewards are kept aside"
    from tensordict import TensorDict

    rows = TensorDict({"obs": torch.from_numpy(source.observations[:5]), "action": torch.from_numpy(source.actions[:5]),
                       "next_obs": torch.from_numpy(source.next_observations[:5])}, batch_size=[5])
    with torch.no_grad():
        expected = load_reward(irl_checkpoint, source.obs_dim, source.act_dim)(rows).numpy()
    np.testing.assert_allclose(relabelled.rewards[:5], expected, rtol=1e-6)
    assert relabelled.attrs["reward_source"] == irl_checkpoint
    for argv, message in (
        (["--reward-from", str(tmp_path / "none.ckpt")], "--reward-from .*none.ckpt does not exist"),
        (["--reward-from", irl_checkpoint, "--env", "Hopper-v5"], "was made for InvertedPendulum-v5, the config names Hopper-v5"),
        (["--reward-from", pendulum_setup[1]], "holds no learned reward"),
    ):
        with pytest.raises(SystemExit):
            data_cli(["relabel", "--dataset", dataset, *argv, "--out", str(tmp_path / "bad.hdf5")])
        assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "bad.hdf5").exists()


def test_clare_weights_loss_and_cli(pendulum_setup, tmp_path: Path):
    """Card 3: a constant reward c with mean weight m gives L_r = lambda z c^2 (c = 2, m = 0.3: 5.2); the weights of a
    4-sample toy set; a CLI smoke run; its r(s, a) is what reward_from reads."""
    from lit_irl.algos import CLARE
    from lit_irl.algos.clare import clare_reward_loss, clare_weights
    from lit_irl.rewards.models import load_reward

    c = torch.full((10,), 2.0)
    weights = torch.full((10,), 0.3)
    loss, _ = clare_reward_loss(c, c, weights, c, mean_weight=0.3, regularizer_weight=1.0)
    assert loss.item() == pytest.approx(5.2)
    toy = clare_weights(torch.tensor([0.1, 0.6, 0.2, 0.9]), torch.tensor([False, False, True, True]), 0.5)
    torch.testing.assert_close(toy, torch.tensor([1.0, 0.0, 0.0, -2.0]))
    dataset, _, world_model = pendulum_setup
    learner = CLARE(PENDULUM, dataset, world_model, DEMOS, 2, mopo=MOPOConfig(rollout_length=3, penalty_coef=0.0, real_ratio=0.0, rollout_batch=100),
                    sac=SMALL_SAC, reward_batch=64)  # fmt: skip
    learner.rollout()
    batch, reward = learner.sac_batch()
    assert batch.shape == (64,) and torch.equal(reward, learner.reward(batch).detach()), "model rows only, rewarded r(s, a)"
    assert torch.equal(learner.rollout_start_pool(), learner.expert["obs"]), "rollouts start from expert states"
    def clare_args(save_dir: Path, total: int) -> list[str]:
        return ["--config", str(ROOT / "configs/clare/inverted_pendulum.yaml"), "--model.init_args.dataset", dataset,
                "--model.init_args.world_model", world_model, "--model.init_args.training.total_steps", str(total),
                "--model.init_args.reward_every", "50", "--model.init_args.reward_batch", "64", "--model.init_args.mopo.rollout_batch", "100",
                "--model.init_args.mopo.rollout_every", "50", "--model.init_args.sac.batch_size", "64", "--model.init_args.training.eval_episodes", "1",
                "--checkpoint.every_n_steps", "100", "--evaluation.every_n_steps", "100", "--trainer.enable_progress_bar", "false",
                "--trainer.logger.init_args.save_dir", str(save_dir)]  # fmt: skip

    run_cli("fit", *clare_args(tmp_path / "straight", 200))
    run_cli("fit", *clare_args(tmp_path / "resumed", 100))
    run_cli("fit", *clare_args(tmp_path / "resumed", 200), "--ckpt_path", "last")
    (checkpoint,) = (tmp_path / "straight").glob("*/version_*/checkpoints/last.ckpt")
    (resumed,) = (tmp_path / "resumed").glob("*/version_*/checkpoints/last.ckpt")
    state, other = torch.load(checkpoint, weights_only=False)["state_dict"], torch.load(resumed, weights_only=False)["state_dict"]
    assert int(state["reward_updates"]) == 4
    assert not [k for k in state if not torch.equal(state[k], other[k])], "resume is bit-identical"
    assert load_reward(str(checkpoint), 4, 1).config.inputs == "sa", "CLARE's r(s, a) is a reward_from reward"


def test_diagnose_offline_tool_prints_what_the_policy_is_paid(pendulum_setup, irl_checkpoint: str, capsys, monkeypatch):
    import sys

    dataset, _, world_model = pendulum_setup
    monkeypatch.syspath_prepend(str(ROOT / "tools"))
    import diagnose_offline

    monkeypatch.setattr(sys, "argv", ["diagnose_offline.py", irl_checkpoint, "--dataset", dataset, "--world-model", world_model, "--episodes", "1"])
    diagnose_offline.main()
    out = capsys.readouterr().out
    assert "episode 0:" in out and "r-lambda*u" in out and "dataset rows" in out and "expert (s, a)" in out
