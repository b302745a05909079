"""The adversarial and Q-based imitation baselines (GAIL, AIRL, SQIL): the reference card's hand-computed
cases, CLI smoke runs on InvertedPendulum-v5 (fixed horizon), exact resume, the transfer read-out."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from tensordict import TensorDict

from lit_irl.algos import AIRL, GAIL, SQIL, CollectionConfig, OffPolicyConfig
from lit_irl.envs import EnvConfig
from lit_irl.errors import LitIRLError
from lit_irl.policy import SACConfig
from lit_irl.rewards.adversarial import airl_shaped, discriminator_loss, gradient_penalty, reward_from_logits
from lit_irl.rewards import RewardConfig
from lit_irl.rewards.models import load_reward
from tests.conftest import ROOT, run_cli
from tests.conftest import tiny_args as tiny_cli_args
from tests.test_ml_irl import short_demos  # noqa: F401  (fixture: 100-step expert episodes)

PENDULUM = EnvConfig("InvertedPendulum-v5", termination="fixed_horizon")
DEMOS = str(ROOT / "zoo/InvertedPendulum-v5/expert_demos.hdf5")
SMALL = SACConfig(actor_hidden=[32, 32], critic_hidden=[32, 32], batch_size=64, init_alpha=0.2, learn_alpha=False)


def test_gail_loss_and_reward_forms_at_zero_logits():
    zeros = torch.zeros(8)
    loss, stats = discriminator_loss(zeros, zeros)
    assert loss.item() == pytest.approx(2 * math.log(2))  # log 2 on each side
    assert stats["discriminator/expert_d"].item() == 0.5
    assert reward_from_logits(zeros, "neg_log_one_minus_d")[0].item() == pytest.approx(math.log(2))
    assert reward_from_logits(zeros, "log_d")[0].item() == pytest.approx(-math.log(2))
    assert torch.equal(reward_from_logits(torch.tensor([1.5, -2.0]), "logit"), torch.tensor([1.5, -2.0]))
    with pytest.raises(LitIRLError, match="reward_form must be one of"):
        reward_from_logits(zeros, "d")


def test_gradient_penalty_of_a_linear_discriminator():
    w = torch.tensor([0.3, -1.2, 2.0])

    def linear(batch: TensorDict) -> torch.Tensor:
        return torch.cat([batch["obs"], batch["action"]], -1) @ w

    expert = TensorDict({"obs": torch.randn(16, 2), "action": torch.randn(16, 1)}, batch_size=[16])
    agent = TensorDict({"obs": torch.randn(16, 2), "action": torch.randn(16, 1)}, batch_size=[16])
    assert gradient_penalty(linear, expert, agent, ("obs", "action")).item() == pytest.approx((w.norm().item() - 1) ** 2, rel=1e-6)

    # A discriminator that standardizes its states, l = w . ((s - m) / std, a): with input_scale the penalty
    # is taken on the standardized states, so its gradient there is w again.
    mean, std = torch.tensor([0.5, -2.0]), torch.tensor([0.1, 4.0])

    def standardizing(batch: TensorDict) -> torch.Tensor:
        return linear(TensorDict({"obs": (batch["obs"] - mean) / std, "action": batch["action"]}, batch_size=batch.batch_size))

    on_raw = gradient_penalty(standardizing, expert, agent, ("obs", "action")).item()
    on_standardized = gradient_penalty(standardizing, expert, agent, ("obs", "action"), input_scale={"obs": std}).item()
    assert on_standardized == pytest.approx((w.norm().item() - 1) ** 2, rel=1e-6)
    assert on_raw == pytest.approx((torch.cat([w[:2] / std, w[2:]]).norm().item() - 1) ** 2, rel=1e-6)


def test_airl_discriminator_structure():
    g, h0 = torch.ones(4), torch.zeros(4)
    not_done, done = torch.zeros(4, dtype=torch.bool), torch.ones(4, dtype=torch.bool)
    logit = airl_shaped(g, h0, h0, not_done, 0.99) - 0.0  # log pi = 0
    assert torch.sigmoid(logit)[0].item() == pytest.approx(0.7311, abs=1e-4)  # D = exp f / (exp f + pi) = sigmoid(1)
    c = torch.full((4,), 3.0)
    assert torch.allclose(airl_shaped(g, c, c, not_done, 0.99), g + (0.99 - 1) * c)
    assert torch.allclose(airl_shaped(g, c, c, done, 0.99), g - c), "a terminal state's potential is 0"


def test_airl_logit_uses_the_tanh_corrected_log_prob_and_the_read_out_is_g():
    airl = AIRL(PENDULUM, DEMOS, sac=SMALL)
    batch = airl.expert[:8]
    with torch.no_grad():
        expected = airl.shaped_reward(batch) - airl.actor.log_prob(batch["obs"], batch["action"])
        torch.testing.assert_close(airl.logits(batch), expected)
        g = airl.reward(batch)
        airl.shaping.net[-1].bias.add_(5.0)  # another potential: f moves, the read-out g does not
        assert torch.equal(airl.reward(batch), g) and not torch.allclose(airl.shaped_reward(batch), expected + airl.actor.log_prob(batch["obs"], batch["action"]))
    with pytest.raises(LitIRLError, match="reward g is state-only"):
        from lit_irl.rewards import RewardConfig

        AIRL(PENDULUM, DEMOS, reward=RewardConfig(inputs="sa"), sac=SMALL)


def test_airl_batched_passes_match_separate_ones():
    airl = AIRL(PENDULUM, DEMOS, sac=SMALL)
    expert, agent = airl.expert[:8], airl.expert[8:20].clone()
    agent["obs"] += 0.1
    with torch.no_grad():
        next_state = expert.clone(recurse=False).set("obs", expert["next_obs"])
        separate = airl_shaped(airl.reward(expert), airl.shaping(expert), airl.shaping(next_state), expert["terminated"], airl.policy.config.gamma)
        torch.testing.assert_close(airl.shaped_reward(expert), separate)
        expert_logits, agent_logits = airl.paired_logits(expert, agent)
        torch.testing.assert_close(expert_logits, airl.logits(expert))
        torch.testing.assert_close(agent_logits, airl.logits(agent))
        # log pi of all discriminator steps' rows in one actor pass, then read from the rows
        with_log_pi = airl.paired_logits(airl.with_policy_terms(expert.clone()), airl.with_policy_terms(agent.clone()))
        torch.testing.assert_close(with_log_pi, (expert_logits, agent_logits))


def test_airl_update_reward_in_two_parts_is_its_policy_reward():
    airl = AIRL(PENDULUM, DEMOS, sac=SMALL)
    batch = airl.expert[:8]
    reward_fn, log_prob_term = airl.policy_update_reward()
    with torch.no_grad():
        log_pi = airl.actor.log_prob(batch["obs"], batch["action"])
        torch.testing.assert_close(log_prob_term(reward_fn(batch), log_pi), airl.policy_reward(batch))
    airl.reward_form = "g"
    assert airl.policy_update_reward() == (airl.reward, None)


def test_sqil_batches_are_half_expert_rewarded_one():
    sqil = SQIL(PENDULUM, DEMOS, sac=SMALL, off_policy=OffPolicyConfig(warmup_steps=100, buffer_size=1000),
                collection=CollectionConfig(env_steps_per_batch=50))
    sqil.setup("fit")
    for _ in range(3):
        sqil.collect_batch()
    batch = sqil.mixed_batch(64)
    reward = sqil.sqil_reward(batch)
    assert batch.shape == (64,) and reward[:32].eq(1).all() and reward[32:].eq(0).all()
    expert_rows = {tuple(row.tolist()) for row in sqil.expert["obs"]}
    assert all(tuple(row.tolist()) in expert_rows for row in batch["obs"][:32]), "the first half are expert transitions"
    sqil.teardown("fit")


def test_update_policy_relabels_the_batches_of_several_updates_in_one_pass(monkeypatch):
    from lit_irl.algos.off_policy import RELABEL_ROWS

    sqil = SQIL(PENDULUM, DEMOS, sac=SMALL, off_policy=OffPolicyConfig(warmup_steps=100, buffer_size=1000),
                collection=CollectionConfig(env_steps_per_batch=50))
    sqil.setup("fit")
    for _ in range(3):
        sqil.collect_batch()
    relabelled, updated = [], []
    monkeypatch.setattr(sqil, "optimizer_step", lambda loss, *optimizers, **kwargs: True)  # no Trainer here
    monkeypatch.setattr(sqil.policy, "update", lambda batch, reward, *args: updated.append((batch, reward)) or {})
    per_pass = RELABEL_ROWS // 64
    sqil.update_policy(lambda batch: relabelled.append(batch.shape[0]) or sqil.sqil_reward(batch), [], updates=per_pass + 3, sample=sqil.mixed_batch)
    assert relabelled == [per_pass * 64, 3 * 64] and len(updated) == per_pass + 3
    for batch, reward in updated:  # each update's rows: one sample(64), its own rewards
        assert batch.shape == (64,) and torch.equal(reward, batch["is_expert"]) and reward[:32].eq(1).all() and reward[32:].eq(0).all()
    sqil.teardown("fit")


def tiny_args(config: str, save_dir: Path, total: int = 600) -> list[str]:
    return [*tiny_cli_args(config, save_dir, total, warmup=100, log_every=200), "--model.init_args.env.max_episode_steps", "100"]


def _last(save_dir: Path) -> dict:
    (ckpt,) = save_dir.glob("*/version_*/checkpoints/last.ckpt")
    return torch.load(ckpt, weights_only=False)


def test_airl_ddp_two_processes_hold_identical_parameters(tmp_path: Path):
    """AIRL's SAC update computes log pi in its actor pass before the critic's backward: DDP still syncs every step."""
    params = tmp_path / "params"
    run_cli("fit", *tiny_args(str(ROOT / "configs/airl/inverted_pendulum.yaml"), tmp_path, total=800), "--model.init_args.discriminator_batch", "32",
            "--model.init_args.recent_agent_transitions", "300", "--trainer.devices", "2",
            "--trainer.callbacks+=tests.helpers.SaveRankParameters", "--trainer.callbacks.directory", str(params), timeout=600)  # fmt: skip
    rank0, rank1 = torch.load(params / "rank0.pt"), torch.load(params / "rank1.pt")
    assert int(rank0["policy.updates"]) > 0
    assert not (different := [k for k in rank0 if not torch.equal(rank0[k], rank1[k])]), different


@pytest.mark.parametrize("algo", ["gail", "airl"])
def test_adversarial_cli_and_exact_resume(tmp_path: Path, algo: str):
    config = str(ROOT / f"configs/{algo}/inverted_pendulum.yaml")
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    small = ["--model.init_args.discriminator_batch", "32", "--model.init_args.recent_agent_transitions", "300"]
    run_cli("fit", *tiny_args(config, straight), *small)
    run_cli("fit", *tiny_args(config, resumed, total=300), *small)
    run_cli("fit", *tiny_args(config, resumed), *small, "--ckpt_path", "last")
    a, b = _last(straight), _last(resumed)
    different = [k for k in a["state_dict"] if not torch.equal(a["state_dict"][k], b["state_dict"][k])]
    assert not different, f"differ after resume: {different}"
    for sa, sb in zip(a["optimizer_states"][-1]["state"].values(), b["optimizer_states"][-1]["state"].values()):
        assert all(torch.equal(sa[k], sb[k]) for k in sa), "the discriminator's optimizer resumes exactly"
    (checkpoint,) = straight.glob("*/version_*/checkpoints/last.ckpt")
    if algo == "airl":
        g = load_reward(str(checkpoint), 4, 1)
        assert torch.equal(g.net[0].weight, a["state_dict"]["reward.net.0.weight"]), "reward_from reads g(s)"
        assert not any(k.startswith("shaping.") for k in g.state_dict())
    else:
        with pytest.raises(LitIRLError, match=r"written by GAIL\) holds no learned reward that transfers"):
            load_reward(str(checkpoint), 4, 1)


def test_sqil_cli(tmp_path: Path):
    # absorbing states: the plain demonstrations are converted to the env's form (indicator, padding)
    run_cli("fit", *tiny_args(str(ROOT / "configs/sqil/inverted_pendulum.yaml"), tmp_path), "--model.init_args.env.termination", "absorbing")
    state = _last(tmp_path)["state_dict"]
    assert int(state["env_steps"]) == 600 and int(state["policy.updates"]) > 0
    (checkpoint,) = tmp_path.glob("*/version_*/checkpoints/last.ckpt")
    with pytest.raises(LitIRLError, match=r"written by SQIL\) holds no learned reward"):
        load_reward(str(checkpoint), 4, 1)


def test_bad_inputs():
    with pytest.raises(LitIRLError, match="reward_form must be one of"):
        GAIL(PENDULUM, DEMOS, reward_form="d", sac=SMALL)
    with pytest.raises(LitIRLError, match="gradient_penalty must be >= 0"):
        GAIL(PENDULUM, DEMOS, gradient_penalty=-1.0, sac=SMALL)
    with pytest.raises(LitIRLError, match="made for InvertedPendulum-v5, the config names Hopper-v5"):
        SQIL(EnvConfig("Hopper-v5"), DEMOS, sac=SMALL)
    with pytest.raises(LitIRLError, match="GAIL's discriminator does not use reward output_l2"):
        GAIL(PENDULUM, DEMOS, discriminator=RewardConfig(inputs="sa", output_l2=0.1), sac=SMALL)


def test_iq_learn_critic_loss_hand_computed():
    """Card 3: one expert transition, Q = 1, V(s') = 0.5, V(s) = 0.8, gamma = 0.9, not done, alpha_chi = 0.5:
    r_Q = 0.55 and the value_expert + chi^2 loss is -0.55 + (0.8 - 0.45) + 0.5 * 0.55^2 = -0.04875."""
    from lit_irl.algos.iq_learn import iq_critic_loss

    one = lambda x: torch.tensor([x])  # noqa: E731
    gamma, target = 0.9, 0.9 * 0.5
    empty = torch.zeros(0)
    loss, stats = iq_critic_loss(one(1.0), empty, one(0.8), empty, one(target), empty, gamma, "value_expert", chi2_weight=0.5)
    assert stats["iq/expert_reward"].item() == pytest.approx(0.55)
    assert loss.item() == pytest.approx(-0.04875)
    # done: V(s') drops out of the target (the learner masks it: y = gamma (1 - done) V')
    loss_done, stats_done = iq_critic_loss(one(1.0), empty, one(0.8), empty, one(0.0), empty, gamma, "value_expert", chi2_weight=0.5)
    assert stats_done["iq/expert_reward"].item() == pytest.approx(1.0) and loss_done.item() == pytest.approx(-1.0 + 0.8 + 0.5)
    v0, _ = iq_critic_loss(one(1.0), empty, one(0.8), empty, one(target), empty, gamma, "v0", chi2_weight=0.5)
    assert v0.item() == pytest.approx(-0.55 + 0.1 * 0.8 + 0.5 * 0.55**2)


def test_iq_learn_cli_and_fixed_temperature(tmp_path: Path):
    from lit_irl.algos import IQLearn

    run_cli("fit", *tiny_args(str(ROOT / "configs/iq_learn/inverted_pendulum.yaml"), tmp_path))
    state = _last(tmp_path)["state_dict"]
    assert int(state["policy.updates"]) > 0 and state["policy.log_alpha"].exp().item() == pytest.approx(0.01)
    with pytest.raises(LitIRLError, match="fixed temperature"):
        IQLearn(PENDULUM, DEMOS, sac=SACConfig(learn_alpha=True))
    with pytest.raises(LitIRLError, match="loss must be value, v0 or value_expert"):
        IQLearn(PENDULUM, DEMOS, loss="v1", sac=SMALL)


@pytest.mark.parametrize("divergence, gradient", [("fkl", 0.25), ("rkl", 0.1733), ("js", 0.1014)])
def test_f_irl_gradient_hand_computed(divergence: str, gradient: float):
    """Card 3: N = 2 trajectories, T = 1, density-ratio logits [0, ln 2]: dL/dr = [g, -g]; a descent step
    raises r on the more expert-like state; a constant reward has loss 0."""
    from lit_irl.algos.f_irl import f_irl_loss, h_f

    rewards = torch.tensor([0.3, -0.7], requires_grad=True)
    h = h_f(torch.tensor([0.0, math.log(2.0)]), divergence)
    loss, _ = f_irl_loss(h, rewards, horizon=1)
    loss.backward()
    torch.testing.assert_close(rewards.grad, torch.tensor([gradient, -gradient]), atol=1e-4, rtol=0)
    assert f_irl_loss(h, torch.full((2,), 5.0), horizon=1)[0].item() == pytest.approx(0.0)


def test_f_irl_cli_and_bad_inputs(tmp_path: Path, short_demos: str):
    from lit_irl.algos import FIRL

    run_cli("fit", *tiny_args(str(ROOT / "configs/f_irl/inverted_pendulum.yaml"), tmp_path), "--model.init_args.env_steps_per_iteration", "200",
            "--model.init_args.demonstrations", short_demos,
            "--model.init_args.agent_trajectories", "2", "--model.init_args.classifier_steps", "5", "--model.init_args.classifier_batch", "32")
    state = _last(tmp_path)["state_dict"]
    assert int(state["reward_steps"]) == 3 and any(k.startswith("density_ratio.") for k in state)
    (checkpoint,) = tmp_path.glob("*/version_*/checkpoints/last.ckpt")
    assert load_reward(str(checkpoint), 4, 1).config.inputs == "s", "f-IRL's r(s) transfers"
    with pytest.raises(LitIRLError, match="set env.termination fixed_horizon"):
        FIRL(EnvConfig("InvertedPendulum-v5"), DEMOS, sac=SMALL)
    with pytest.raises(LitIRLError, match="divergence must be fkl, rkl or js"):
        FIRL(PENDULUM, DEMOS, divergence="kl", sac=SMALL)


def test_value_dice_objective_and_the_saddle_gradients(tmp_path: Path):
    from lit_irl.algos import ValueDICE
    from lit_irl.algos.value_dice import value_dice_objective

    c = torch.full((7,), 2.5)
    assert value_dice_objective(c, c, c[:3], 0.99).item() == pytest.approx(0.0, abs=1e-6), "J = 0 for a constant nu"
    absorbing = EnvConfig("InvertedPendulum-v5", termination="absorbing")
    learner = ValueDICE(absorbing, DEMOS, nu_hidden=[16], actor_hidden=[16])
    expert, initial = learner.expert[:32], learner.expert["obs"][32:64]
    torch.manual_seed(0)
    plain = learner.objective(expert, initial)
    plain_grads = torch.autograd.grad(plain, [*learner.nu.parameters(), *learner.actor.parameters()])
    torch.manual_seed(0)
    reversed_ = learner.objective(expert, initial, reverse_actor=True)
    reversed_grads = torch.autograd.grad(reversed_, [*learner.nu.parameters(), *learner.actor.parameters()])
    n_nu = len(list(learner.nu.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(plain_grads[:n_nu], reversed_grads[:n_nu])), "nu descends J"
    assert all(torch.allclose(a, -b) for a, b in zip(plain_grads[n_nu:], reversed_grads[n_nu:])), "the actor ascends J"
    # Expert-standardized states for nu and the actor; the absorbing indicator passes through as 0 / 1.
    states, normalizer = learner.expert["obs"][:, :-1], learner.actor.obs_normalizer
    assert torch.allclose(normalizer.mean[:-1], states.mean(0), atol=1e-6)
    assert torch.allclose(normalizer.std[:-1], states.std(0, unbiased=False), rtol=1e-4)
    absorbing_state = torch.zeros(1, states.shape[1] + 1)
    absorbing_state[0, -1] = 1.0
    expected = (-normalizer.mean / normalizer.std).clamp(-10, 10)
    expected[-1] = 1.0  # the indicator passes through
    assert torch.allclose(learner.normalized(absorbing_state)[0], expected)
    raw = ValueDICE(absorbing, DEMOS, nu_hidden=[16], actor_hidden=[16], normalize_obs=False)
    assert torch.equal(raw.normalized(raw.expert["obs"]), raw.expert["obs"])
    run_cli("fit", "--config", str(ROOT / "configs/value_dice/inverted_pendulum.yaml"), "--model.init_args.training.total_steps", "100",
            "--model.init_args.training.eval_episodes", "1", "--checkpoint.every_n_steps", "100", "--evaluation.every_n_steps", "100",
            "--trainer.enable_progress_bar", "false", "--trainer.logger.init_args.save_dir", str(tmp_path))  # fmt: skip
    assert int(_last(tmp_path)["state_dict"]["gradient_steps"]) == 100


@pytest.mark.parametrize("algo", ["sqil", "iq_learn", "f_irl"])
def test_online_baselines_resume_bit_identical(tmp_path: Path, algo: str, short_demos: str):
    config = str(ROOT / f"configs/{algo}/inverted_pendulum.yaml")
    extra = ["--model.init_args.demonstrations", short_demos]
    if algo == "f_irl":
        extra += ["--model.init_args.env_steps_per_iteration", "200", "--model.init_args.agent_trajectories", "2",
                  "--model.init_args.classifier_steps", "5", "--model.init_args.classifier_batch", "32"]  # fmt: skip
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    run_cli("fit", *tiny_args(config, straight), *extra)
    run_cli("fit", *tiny_args(config, resumed, total=400), *extra)
    run_cli("fit", *tiny_args(config, resumed), *extra, "--ckpt_path", "last")
    a, b = _last(straight), _last(resumed)
    different = [k for k in a["state_dict"] if not torch.equal(a["state_dict"][k], b["state_dict"][k])]
    assert not different, f"differ after resume: {different}"


def test_value_dice_resume_bit_identical(tmp_path: Path):
    def args(save_dir: Path, total: int) -> list[str]:
        return ["--config", str(ROOT / "configs/value_dice/inverted_pendulum.yaml"), "--model.init_args.training.total_steps", str(total),
                "--model.init_args.nu_hidden", "[32]", "--model.init_args.actor_hidden", "[32]", "--model.init_args.training.eval_episodes", "1",
                "--checkpoint.every_n_steps", "100", "--evaluation.every_n_steps", "100", "--trainer.enable_progress_bar", "false",
                "--trainer.logger.init_args.save_dir", str(save_dir)]  # fmt: skip

    run_cli("fit", *args(tmp_path / "straight", 200))
    run_cli("fit", *args(tmp_path / "resumed", 100))
    run_cli("fit", *args(tmp_path / "resumed", 200), "--ckpt_path", "last")
    a, b = _last(tmp_path / "straight")["state_dict"], _last(tmp_path / "resumed")["state_dict"]
    assert not [k for k in a if not torch.equal(a[k], b[k])]


@pytest.mark.parametrize("algo", ["airl", "f_irl"])
def test_transfer_configs_learn_in_disabled_ant_from_custom_ant_demonstrations(algo: str):
    """Table 2.2's data transfer for the baselines: the CustomAnt-v0 demonstrations are accepted in DisabledAnt-v0
    only when the config says they come from another env; the CustomAnt config's reward is the state-only one."""
    import yaml

    from lit_irl.algos import FIRL

    cls = {"airl": AIRL, "f_irl": FIRL}[algo]

    def build(config: str, **changes):
        args = yaml.safe_load((ROOT / "configs" / algo / config).read_text())["model"]["init_args"]
        args = {**args, **changes, "demonstrations": str(ROOT / args["demonstrations"])}
        env = EnvConfig(**args.pop("env"))
        reward = RewardConfig(**{k: tuple(v) if k == "betas" else v for k, v in args.pop("reward").items()})
        keep = ("demonstrations", "num_expert_trajectories", "demonstrations_from_other_env")
        return cls(env, reward=reward, sac=SMALL, **{k: v for k, v in args.items() if k in keep})

    data_transfer = build("disabled_ant_data_transfer.yaml")
    assert data_transfer.env_spec.obs_dim == 111 and len(data_transfer.demonstration_data.episode_bounds()) == 1
    with pytest.raises(LitIRLError, match="CustomAnt-v0"):
        build("disabled_ant_data_transfer.yaml", demonstrations_from_other_env=False)
    assert build("custom_ant.yaml").reward.config.inputs == "s"
