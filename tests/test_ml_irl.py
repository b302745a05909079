"""ML-IRL on InvertedPendulum-v5 with tiny budgets: CLI, hidden reward, exact resume, bad inputs."""

from __future__ import annotations

import signal
from pathlib import Path

import lightning as L
import pytest
import torch

from lit_irl.algos import MLIRL, CollectionConfig, OffPolicyConfig, TrainingConfig
from lit_irl.data.d4rl import load_dataset, save_dataset
from lit_irl.envs import EnvConfig
from lit_irl.errors import LitIRLError
from lit_irl.policy import SACConfig, SACPolicy
from lit_irl.reporting import logged_scalars
from lit_irl.rewards import RewardConfig
from tests.conftest import ROOT, run_cli
from tests.conftest import tiny_args as tiny_cli_args

CONFIG = str(ROOT / "configs/ml_irl/inverted_pendulum.yaml")
DEMOS = str(ROOT / "zoo/InvertedPendulum-v5/expert_demos.hdf5")
SMALL = SACConfig(actor_hidden=[32, 32], critic_hidden=[32, 32], batch_size=64)


def tiny_args(save_dir: Path, total: int = 600) -> list[str]:
    """ML-IRL on InvertedPendulum-v5 with 100-step episodes and 200-step iterations, fixed horizon
    (the locomotion configs' termination; the pendulum config itself uses plain termination)."""
    return [
        *tiny_cli_args(CONFIG, save_dir, total, warmup=100, log_every=200),
        "--model.init_args.env.termination", "fixed_horizon",
        "--model.init_args.env_steps_per_iteration", "200",
        "--model.init_args.agent_trajectories", "2",
        "--model.init_args.env.max_episode_steps", "100",
    ]


@pytest.fixture(scope="module")
def short_demos(tmp_path_factory) -> str:
    """The zoo's demonstrations cut to 100-step episodes (so tests can use a horizon of 100)."""
    data = load_dataset(DEMOS)
    rows = torch.arange(len(data)) % 1000 < 100
    short = data.select(rows.numpy())
    short.timeouts[:] = (torch.arange(len(short)) % 100 == 99).numpy()
    return str(save_dataset(tmp_path_factory.mktemp("demos") / "short.hdf5", short))


def _last(save_dir: Path) -> dict:
    (ckpt,) = save_dir.glob("mlirl-InvertedPendulum-v5/version_*/checkpoints/last.ckpt")
    return torch.load(ckpt, weights_only=False)


def test_cli_smoke_and_resume_is_bit_identical(tmp_path: Path, short_demos: str):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    run_cli("fit", *tiny_args(straight), "--model.init_args.demonstrations", short_demos)
    state = _last(straight)
    assert int(state["state_dict"]["env_steps"]) == 600 and int(state["state_dict"]["reward_steps"]) == 3
    (run_dir,) = straight.glob("mlirl-InvertedPendulum-v5/version_*")
    epic = logged_scalars(run_dir, "reward_recovery/epic")
    assert epic and 0.0 <= epic[-1][1] <= 1.0, "the final evaluation logs the EPIC distance to the true reward"
    shares = {part: logged_scalars(run_dir, f"time_split/{part}") for part in ("env_steps", "sac_updates", "relabel", "agent_rollouts", "reward_step", "other")}
    assert all(shares.values()), f"every part of an iteration has its share of the wall time: {shares}"
    assert all(0.0 <= value <= 1.0 for points in shares.values() for _, value in points)
    interrupted = run_cli(
        "fit", *tiny_args(killed), "--model.init_args.demonstrations", short_demos,
        "--trainer.callbacks+=tests.helpers.KillAfterCheckpoint", "--trainer.callbacks.steps", "300",
        check=False,
    )
    assert interrupted.returncode == -signal.SIGKILL, interrupted.stderr[-2000:]
    run_cli("fit", *tiny_args(killed), "--model.init_args.demonstrations", short_demos, "--ckpt_path", "last")
    a, b = state["state_dict"], _last(killed)["state_dict"]
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"differ after resume: {different}"
    assert any(k.startswith("reward.net") for k in a)
    reward_opt_a, reward_opt_b = state["optimizer_states"][-1], _last(killed)["optimizer_states"][-1]
    for sa, sb in zip(reward_opt_a["state"].values(), reward_opt_b["state"].values()):
        assert all(torch.equal(sa[k], sb[k]) for k in sa), "reward optimizer resumes exactly"


def test_true_reward_never_reaches_the_sac_loss(monkeypatch, short_demos: str):
    seen = []
    original = SACPolicy.update

    def checked_update(self, batch, reward, *args, **kwargs):
        assert "true_reward" not in batch.keys(), "the learner's replay batches must not carry the env reward"
        seen.append(torch.equal(reward, module.reward(batch).detach()))
        return original(self, batch, reward, *args, **kwargs)

    monkeypatch.setattr(SACPolicy, "update", checked_update)
    env = EnvConfig("InvertedPendulum-v5", termination="fixed_horizon", max_episode_steps=100)
    module = MLIRL(
        env, short_demos, sac=SMALL, env_steps_per_iteration=200, agent_trajectories=2,
        off_policy=OffPolicyConfig(warmup_steps=100), training=TrainingConfig(total_steps=400, eval_episodes=1),
    )
    assert not module.uses_env_reward, "ML-IRL never trains on the env reward"
    L.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False, max_epochs=-1).fit(module)
    assert seen and all(seen), "SAC is trained on r_theta of the replayed batch"


def test_reward_step_sees_fallen_trajectories_at_full_length(short_demos: str):
    """Plain termination (the SAC step) + pad_to_horizon: an untrained pendulum falls within the
    100-step horizon, and the reward step gets it continued with its terminal state, not cut."""
    env = EnvConfig("InvertedPendulum-v5", termination="plain", max_episode_steps=100)
    padded = MLIRL(env, short_demos, sac=SMALL, agent_trajectories=3)
    agent, mask = padded.sample_agent_trajectories()
    assert agent.batch_size == (3, 100) and bool(mask.all())
    fell = agent["true_reward"][:, -1] == 0
    assert bool(fell.all()), "the padded tail is the fallen state, which the env pays nothing for"
    assert torch.equal(agent["obs"][:, -1], agent["obs"][:, -2]), "the tail repeats the terminal state"
    masked = MLIRL(env, short_demos, sac=SMALL, agent_trajectories=3, pad_to_horizon=False)
    _, mask = masked.sample_agent_trajectories()
    assert 0 < mask.sum() < mask.numel(), "without padding the steps after the fall are masked out"
    simulated = MLIRL(env, short_demos, sac=SMALL, agent_trajectories=3, agent_past_termination=True)
    agent, mask = simulated.sample_agent_trajectories()
    assert agent.batch_size == (3, 100) and bool(mask.all())
    assert not torch.equal(agent["obs"][:, -1], agent["obs"][:, -2]), "after the fall the physics go on"


def test_learned_fall_value_charges_a_fall_what_the_padded_reward_step_does(short_demos: str):
    env = EnvConfig("InvertedPendulum-v5", termination="plain", max_episode_steps=100)
    learner = MLIRL(env, short_demos, sac=SMALL, fall_value="learned")
    agent, _ = learner.sample_agent_trajectories()
    batch = agent[:3, :3].reshape(-1)  # the first steps of three trajectories, the third marked terminal
    batch["terminated"] = torch.tensor([False, False, True] * 3)
    with torch.no_grad():
        plain, charged = learner.reward(batch), learner.policy_reward(batch)
        fallen = learner.reward(batch.set("obs", batch["next_obs"].clone()))
    gamma = learner.policy.config.gamma
    assert torch.equal(charged[~batch["terminated"]], plain[~batch["terminated"]])
    expected = plain + gamma / (1 - gamma) * fallen
    assert torch.allclose(charged[batch["terminated"]], expected[batch["terminated"]])
    with pytest.raises(LitIRLError, match="fall_value: learned is for termination plain"):
        MLIRL(EnvConfig("InvertedPendulum-v5", termination="fixed_horizon", max_episode_steps=100), short_demos, sac=SMALL, fall_value="learned")


def test_standardized_policy_reward_is_zero_on_the_agents_states_and_unit_spread(short_demos: str):
    env = EnvConfig("InvertedPendulum-v5", termination="plain", max_episode_steps=100)
    learner = MLIRL(env, short_demos, sac=SMALL, agent_trajectories=3, policy_reward_scale="standardized")
    agent, mask = learner.sample_agent_trajectories()
    terminated = agent["terminated"].long()
    alive = agent[(terminated.cumsum(-1) - terminated) == 0]  # an untrained pendulum falls: the padding is left out
    assert 0 < alive.numel() < agent.numel()
    with torch.no_grad():
        assert torch.equal(learner.policy_reward(alive), learner.reward(alive)), "raw until the first reward step"
        learner.refresh_policy_reward_scale(agent, mask)
        on_agent, on_expert = learner.policy_reward(alive), learner.policy_reward(learner.expert[learner.expert_mask.bool()])
    assert abs(float(on_agent.mean())) < 1e-5
    spread = learner.reward(torch.cat([alive, learner.expert[learner.expert_mask.bool()].select(*alive.keys())])).std().detach()
    assert float(learner.policy_reward_spread) == pytest.approx(float(spread), rel=1e-5)
    assert {"policy_reward_offset", "policy_reward_spread"} <= set(learner.state_dict()), "kept in checkpoints"
    with pytest.raises(LitIRLError, match="policy_reward_scale must be raw, standardized or centered"):
        MLIRL(env, short_demos, sac=SMALL, policy_reward_scale="unit")
    with pytest.raises(LitIRLError, match="policy_reward_level 0.5 needs policy_reward_scale centered"):
        MLIRL(env, short_demos, sac=SMALL, policy_reward_level=0.5)


def test_centered_policy_reward_sits_at_its_level_on_the_agents_states_and_keeps_differences(short_demos: str):
    env = EnvConfig("InvertedPendulum-v5", termination="plain", max_episode_steps=100)
    learner = MLIRL(env, short_demos, sac=SMALL, agent_trajectories=3, policy_reward_scale="centered", policy_reward_level=0.5)
    agent, mask = learner.sample_agent_trajectories()
    terminated = agent["terminated"].long()
    alive = agent[(terminated.cumsum(-1) - terminated) == 0]
    expert = learner.expert[learner.expert_mask.bool()]
    with torch.no_grad():
        learner.reward.net[-1].bias.add_(7.0)  # a level the reward loss never sees, e.g. after a drift
        learner.refresh_policy_reward_scale(agent, mask)
        on_agent, on_expert = learner.policy_reward(alive), learner.policy_reward(expert)
        raw_gap = learner.reward(expert).mean() - learner.reward(alive).mean()
    assert float(on_agent.mean()) == pytest.approx(0.5, abs=1e-5)
    assert float(on_expert.mean() - on_agent.mean()) == pytest.approx(float(raw_gap), abs=1e-5), "differences pass unscaled"
    assert float(learner.policy_reward_spread) == 1.0


def test_bad_inputs(tmp_path: Path, short_demos: str):
    hopper = EnvConfig("Hopper-v5", termination="fixed_horizon")
    with pytest.raises(LitIRLError, match="made for InvertedPendulum-v5, the config names Hopper-v5"):
        MLIRL(hopper, short_demos, sac=SMALL)
    pendulum = EnvConfig("InvertedPendulum-v5", termination="fixed_horizon", max_episode_steps=100)
    with pytest.raises(LitIRLError, match="num_expert_trajectories must be > 0"):
        MLIRL(pendulum, short_demos, num_expert_trajectories=0, sac=SMALL)
    with pytest.raises(LitIRLError, match="asked for 99 episodes"):
        MLIRL(pendulum, short_demos, num_expert_trajectories=99, sac=SMALL)
    with pytest.raises(LitIRLError, match="longer than the horizon 50"):
        MLIRL(EnvConfig("InvertedPendulum-v5", termination="fixed_horizon", max_episode_steps=50), short_demos, sac=SMALL)
    with pytest.raises(LitIRLError, match="does not exist"):
        MLIRL(pendulum, str(tmp_path / "nope.hdf5"), sac=SMALL)
    with pytest.raises(LitIRLError, match="absorbing"):
        MLIRL(EnvConfig("InvertedPendulum-v5", termination="absorbing"), short_demos, sac=SMALL)
    with pytest.raises(LitIRLError, match="agent_past_termination does nothing under termination fixed_horizon"):
        MLIRL(pendulum, short_demos, sac=SMALL, agent_past_termination=True)
    with pytest.raises(LitIRLError, match="multiple of a collection batch"):
        MLIRL(pendulum, short_demos, sac=SMALL, env_steps_per_iteration=120, collection=CollectionConfig(env_steps_per_batch=50))
    with pytest.raises(LitIRLError, match="reward inputs"):
        RewardConfig(inputs="q")
    with pytest.raises(LitIRLError, match="weight_decay must be >= 0"):
        RewardConfig(weight_decay=-1e-3)
    with pytest.raises(LitIRLError, match="betas must be two numbers in"):
        RewardConfig(betas=(0.9, 1.5))
    with pytest.raises(LitIRLError, match="unknown activation 'gelu'"):
        RewardConfig(activation="gelu")
    with pytest.raises(LitIRLError, match="unknown activation 'gelu'"):
        SACConfig(activation="gelu")
    result = run_cli("fit", *tiny_args(tmp_path), "--model.init_args.demonstrations", str(tmp_path / "missing.hdf5"), check=False)
    assert result.returncode == 2 and "missing.hdf5: file does not exist" in result.stderr
    result = run_cli("fit", *tiny_args(tmp_path), "--model.init_args.reward.activation", "gelu", check=False)
    assert result.returncode == 2 and "gelu" in result.stderr and "Traceback" not in result.stderr


def test_reward_transfer_trains_sac_on_a_frozen_learned_reward(tmp_path: Path, short_demos: str):
    run_cli("fit", *tiny_args(tmp_path / "irl", total=400), "--model.init_args.demonstrations", short_demos)
    (irl_ckpt,) = (tmp_path / "irl").glob("*/version_0/checkpoints/last.ckpt")
    transfer = [
        "--config", str(ROOT / "configs/sac/inverted_pendulum.yaml"),
        "--model.init_args.reward_from", str(irl_ckpt),
        "--model.init_args.training.total_steps", "300", "--model.init_args.off_policy.warmup_steps", "100",
        "--model.init_args.sac.actor_hidden", "[32, 32]", "--model.init_args.sac.critic_hidden", "[32, 32]",
        "--model.init_args.training.eval_episodes", "1", "--evaluation.every_n_steps", "300", "--checkpoint.every_n_steps", "300",
        "--trainer.enable_progress_bar", "false", "--trainer.logger.init_args.save_dir", str(tmp_path / "transfer"),
    ]
    run_cli("fit", *transfer)
    (sac_ckpt,) = (tmp_path / "transfer").glob("*/version_0/checkpoints/last.ckpt")
    irl, sac = torch.load(irl_ckpt, weights_only=False), torch.load(sac_ckpt, weights_only=False)
    for key, value in irl["state_dict"].items():
        if key.startswith("reward."):
            assert torch.equal(sac["state_dict"]["frozen_" + key], value), "the transferred reward stays frozen"
    assert sac["hyper_parameters"]["reward_from"] == str(irl_ckpt)
    assert int(sac["state_dict"]["policy.updates"]) > 0

    from lit_irl.rewards.models import load_reward

    with pytest.raises(LitIRLError, match="holds no learned reward"):
        load_reward(str(sac_ckpt), 4, 1)
    with pytest.raises(LitIRLError, match="takes 4-dim observations, this env has 11"):
        load_reward(str(irl_ckpt), 11, 3)


def test_transfer_ants():
    import numpy as np

    from lit_irl.envs import make_env

    custom, disabled = make_env(EnvConfig("CustomAnt-v0")), make_env(EnvConfig("DisabledAnt-v0"))
    assert custom.observation_space.shape == disabled.observation_space.shape == (111,)
    gears = dict(zip([disabled.unwrapped.model.actuator(i).trnid[0] for i in range(8)], disabled.unwrapped.model.actuator_gear[:, 0]))
    names = {disabled.unwrapped.model.joint(j).name: g for j, g in gears.items()}
    assert all(names[j] == 1.0 for j in ("hip_3", "ankle_3", "hip_4", "ankle_4")) and names["hip_1"] == 30.0
    assert (custom.unwrapped.model.actuator_gear[:, 0] == 30.0).all()
    half = {n: disabled.unwrapped.model.geom(n).size[1] / custom.unwrapped.model.geom(n).size[1] for n in ("back_leg_geom", "third_ankle_geom", "left_leg_geom")}
    assert half["back_leg_geom"] == pytest.approx(0.5) and half["third_ankle_geom"] == pytest.approx(0.5) and half["left_leg_geom"] == 1.0
    custom.reset(seed=0)
    steps = [custom.step(np.zeros(8)) for _ in range(500)]
    assert not any(s[2] for s in steps) and steps[-1][3], "no termination, 500-step episodes"


def test_ddp_two_processes_hold_identical_reward_and_policy(tmp_path: Path, short_demos: str):
    params = tmp_path / "params"
    run_cli(
        "fit", *tiny_args(tmp_path, total=800), "--model.init_args.demonstrations", short_demos,
        "--trainer.strategy", "ddp", "--trainer.devices", "2",
        "--trainer.callbacks+=tests.helpers.SaveRankParameters", "--trainer.callbacks.directory", str(params),
        timeout=600,
    )
    rank0, rank1 = torch.load(params / "rank0.pt"), torch.load(params / "rank1.pt")
    assert int(rank0["reward_steps"]) == 2, "an iteration is 200 env steps per rank, 400 for both"
    assert not [k for k in rank0 if not torch.equal(rank0[k], rank1[k])]


def test_reward_step_size_decays_as_the_thesis_schedule():
    from lit_irl.rewards import RewardModel

    model = RewardModel(3, 1, RewardConfig(inputs="s", hidden=[4], lr=1e-3, lr_decay_power=0.5))
    optimizer, schedule = model.make_scheduled_optimizer()
    sizes = []
    for _ in range(4):
        sizes.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert sizes == pytest.approx([1e-3 / (k + 1) ** 0.5 for k in range(4)])
    constant, constant_schedule = RewardModel(3, 1, RewardConfig(inputs="s", hidden=[4], lr=1e-3)).make_scheduled_optimizer()
    constant.step()
    constant_schedule.step()
    assert constant.param_groups[0]["lr"] == pytest.approx(1e-3)
    with pytest.raises(LitIRLError, match="lr_decay_power must be >= 0"):
        RewardConfig(lr_decay_power=-0.5)


def test_straight_through_clamp_pays_the_clip_and_passes_every_rows_gradient():
    from tensordict import TensorDict

    from lit_irl.rewards import RewardModel

    obs = torch.tensor([[30.0], [0.5], [-30.0]])
    batch = TensorDict({"obs": obs}, batch_size=[3])
    rewards = {}
    for mode in ("zero", "straight_through"):
        model = RewardModel(1, 1, RewardConfig(inputs="s", hidden=[], clamp=10.0, clamp_gradient=mode))
        with torch.no_grad():
            model.net[-1].weight.fill_(1.0), model.net[-1].bias.zero_()
        reward = model(batch)
        reward.sum().backward()
        rewards[mode] = (reward.detach(), model.net[-1].weight.grad.item())
    assert torch.equal(rewards["zero"][0], torch.tensor([10.0, 0.5, -10.0]))
    assert torch.equal(rewards["straight_through"][0], rewards["zero"][0]), "the same values are paid either way"
    assert rewards["zero"][1] == pytest.approx(0.5), "torch.clamp: only the row inside the clip moves the weight"
    assert rewards["straight_through"][1] == pytest.approx(30.0 + 0.5 - 30.0), "every row passes its gradient"
    with pytest.raises(LitIRLError, match="clamp_gradient must be"):
        RewardConfig(clamp_gradient="soft")


def test_scale_penalty_holds_the_level_the_shift_invariant_loss_leaves_free():
    """mean r(agent) - mean r(expert) falls without bound as r_E - r_A grows; with c/2 * mean r^2 on both
    sides a linear r(x) = w x + b on expert x = 1, agent x = -1 has its minimum at r_E = 1/c, r_A = -1/c."""
    from tensordict import TensorDict

    from lit_irl.rewards import RewardModel, ml_irl_sample_mean_loss

    expert, agent = (TensorDict({"obs": torch.tensor([[x]])}, batch_size=[1, 1]) for x in (1.0, -1.0))
    mask = torch.ones(1, 1)
    ends = {}
    for c, anchor in ((0.0, 0.0), (0.5, 0.0), (0.5, 3.0)):
        torch.manual_seed(0)
        model = RewardModel(1, 1, RewardConfig(inputs="s", hidden=[], clamp=None, output_l2=c, output_anchor=anchor, weight_decay=0.0, lr=0.05))
        optimizer = model.make_optimizer()
        for _ in range(2000):
            loss, _ = ml_irl_sample_mean_loss(model(agent), model(expert), 1.0, mask, mask)
            penalty, stats = model.scale_penalty((agent, mask), (expert, mask))
            optimizer.zero_grad()
            (loss + penalty).backward()
            optimizer.step()
        ends[c, anchor] = (model(expert).item(), model(agent).item(), stats)
    assert ends[0.0, 0.0][0] - ends[0.0, 0.0][1] > 150, "without the penalty the gap keeps growing"
    assert ends[0.0, 0.0][2] == {}, "off: no penalty, no forward pass"
    assert ends[0.5, 0.0][0] == pytest.approx(2.0, abs=1e-2) and ends[0.5, 0.0][1] == pytest.approx(-2.0, abs=1e-2)
    assert ends[0.5, 0.0][2]["reward/scale_penalty"].item() == pytest.approx(0.5 * 0.5 * (4.0 + 4.0), abs=2e-2)
    # Anchored at 3: the same separation around 3, so the agent's side stays paid above 0.
    assert ends[0.5, 3.0][0] == pytest.approx(5.0, abs=1e-2) and ends[0.5, 3.0][1] == pytest.approx(1.0, abs=1e-2)
    assert RewardModel(1, 1, RewardConfig(inputs="s", zero_init=True, output_l2=0.1, output_anchor=3.0))(expert).item() == 3.0
    with pytest.raises(LitIRLError, match="output_l2 must be >= 0"):
        RewardConfig(output_l2=-0.1)
    with pytest.raises(LitIRLError, match="output_anchor 2.0 needs the scale penalty"):
        RewardConfig(output_anchor=2.0)
    with pytest.raises(LitIRLError, match="inside the clip"):
        RewardConfig(output_l2=0.1, output_anchor=10.0, clamp=10.0)


def test_reward_waits_while_the_buffer_refills_after_a_bare_resume(tmp_path: Path, short_demos: str):
    """A checkpoint without replay (compact): the policy does not update until the buffer holds
    ``resume_refill_steps`` transitions again, and the reward steps of those iterations are skipped with it."""
    import subprocess
    import sys

    run_cli("fit", *tiny_args(tmp_path / "first", total=400), "--model.init_args.demonstrations", short_demos)
    (ckpt,) = (tmp_path / "first").glob("*/version_0/checkpoints/last.ckpt")
    compact = tmp_path / "compact.ckpt"
    subprocess.run([sys.executable, "tools/compact_checkpoint.py", str(ckpt), str(compact)], check=True, cwd=ROOT)
    run_cli("fit", *tiny_args(tmp_path / "resumed", total=800), "--model.init_args.demonstrations", short_demos,
            "--model.init_args.off_policy.resume_refill_steps", "300", "--ckpt_path", str(compact))  # fmt: skip
    (resumed,) = (tmp_path / "resumed").glob("*/version_0/checkpoints/last.ckpt")
    before, after = torch.load(ckpt, weights_only=False)["state_dict"], torch.load(resumed, weights_only=False)["state_dict"]
    assert int(before["reward_steps"]) == 2 and int(after["env_steps"]) == 800
    # iteration 600: 200 transitions refilled of 300, no update and no reward step; iteration 800: both again
    assert int(after["reward_steps"]) == 3
    # updates from the collection batch (50 steps) that brought the buffer to 300, at env step 700
    assert int(after["policy.updates"]) - int(before["policy.updates"]) == 150


def test_agent_reward_level_holds_the_free_offset_and_leaves_the_ordering_to_the_likelihood(short_demos: str):
    env = EnvConfig("InvertedPendulum-v5", termination="plain", max_episode_steps=100)
    learner = MLIRL(env, short_demos, sac=SMALL, agent_trajectories=3, agent_reward_level=0.5, reward=RewardConfig(lr=1e-2))
    agent, mask = learner.sample_agent_trajectories()  # an untrained pendulum falls: padded tails
    before_fall = mask.bool() & ((agent["terminated"].long().cumsum(-1) - agent["terminated"].long()) == 0)
    assert 0 < before_fall.sum() < mask.sum(), "the padding of a fall is left out of the level"
    penalty, stats = learner.agent_level_penalty(agent, mask)
    expected_level = learner.reward.unclipped(agent[before_fall]).mean()
    assert torch.allclose(stats["reward/agent_level"], expected_level)
    assert torch.allclose(penalty, 50.0 * 100 * (expected_level - 0.5).square())

    optimizer = learner.reward.make_optimizer()
    for _ in range(300):
        loss, _ = learner.reward_loss(agent, mask)
        loss = loss + learner.agent_level_penalty(agent, mask)[0]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        level = learner.reward.unclipped(agent[before_fall]).mean()
        expert = learner.reward(learner.expert[learner.expert_mask.bool()]).mean()
    assert abs(float(level) - 0.5) < 0.05, "the agent's states before a fall are held at the level"
    assert float(expert) > float(level) + 0.5, "the likelihood still ranks the expert's states above them"
    off = MLIRL(env, short_demos, sac=SMALL, agent_trajectories=3)
    assert float(off.agent_level_penalty(agent, mask)[0]) == 0.0, "off by default: the official loss"
