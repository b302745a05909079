"""Data layer: the D4RL-format file, its validation, preferences, DataModules, lit-irl-data end to end."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from lit_irl.data.d4rl import TransitionData, concatenate, load_dataset, save_dataset
from lit_irl.data.modules import ExpertDemonstrations, OfflineTransitions, PreferenceData
from lit_irl.data.preferences import build_pairs, label_pairs, load_preferences, save_preferences
from lit_irl.data.rollout import Policy, export_policy, load_policy, rollout
from lit_irl.data.scores import d4rl_normalized_score
from lit_irl.envs import EnvConfig, probe_env
from lit_irl.errors import LitIRLError
from lit_irl.nn import TanhGaussianActor
from tests.conftest import ROOT


def toy(n_episodes=3, length=5, obs_dim=4, act_dim=1, seed=0) -> TransitionData:
    rng = np.random.default_rng(seed)
    n = n_episodes * length
    timeouts = np.zeros(n, bool)
    timeouts[length - 1 :: length] = True
    return TransitionData(
        rng.normal(size=(n, obs_dim)).astype(np.float32), rng.normal(size=(n, act_dim)).astype(np.float32),
        rng.normal(size=n).astype(np.float32), np.zeros(n, bool), timeouts, rng.normal(size=(n, obs_dim)).astype(np.float32),
        {"qpos": rng.normal(size=(n, 2))}, {"env_id": "InvertedPendulum-v5"},
    )


def test_round_trip(tmp_path: Path):
    data = toy()
    path = save_dataset(tmp_path / "x.hdf5", data, {"source_policy": "unit test"})
    back = load_dataset(path, "InvertedPendulum-v5", 4, 1)
    for key, value in data.as_arrays().items():
        np.testing.assert_array_equal(back.as_arrays()[key], value)
    assert back.attrs["source_policy"] == "unit test" and "creation_command" in back.attrs and "lit_irl_version" in back.attrs
    np.testing.assert_allclose(back.attrs["episode_returns"], data.episode_returns())
    assert back.episode_bounds() == [(0, 5), (5, 10), (10, 15)]
    assert not list(tmp_path.glob(".*tmp")), "no temporary file left"


def test_concatenate_ends_an_unfinished_tail_before_the_next_part():
    medium = toy(n_episodes=2).select(slice(0, 8))  # one episode and 3 rows of an unfinished one
    expert = toy(n_episodes=2, seed=1)
    both = concatenate([medium, expert], {"env_id": "InvertedPendulum-v5"})
    assert both.episode_bounds() == [(0, 5), (5, 8), (8, 13), (13, 18)]
    assert not medium.timeouts[-1], "the input is left unchanged"
    np.testing.assert_array_equal(both.observations, np.concatenate([medium.observations, expert.observations]))


def _write_d4rl_like(path: Path, n: int = 2000, with_next: bool = True) -> None:
    """A file shaped like a real D4RL v2 hopper-medium: float32 arrays, bool flags, infos and metadata groups."""
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        f["observations"] = rng.normal(size=(n, 11)).astype(np.float32)
        f["actions"] = rng.uniform(-1, 1, size=(n, 3)).astype(np.float32)
        f["rewards"] = rng.normal(size=n).astype(np.float32)
        terminals = np.zeros(n, bool)
        terminals[[99, 700]] = True
        timeouts = np.zeros(n, bool)
        timeouts[1700] = True
        f["terminals"], f["timeouts"] = terminals, timeouts
        if with_next:
            f["next_observations"] = rng.normal(size=(n, 11)).astype(np.float32)
        f["infos/qpos"] = rng.normal(size=(n, 6))
        f["infos/qvel"] = rng.normal(size=(n, 6))
        f["infos/action_log_probs"] = rng.normal(size=n).astype(np.float32)
        f["metadata/algorithm"] = np.bytes_("SAC")
        f["metadata/policy/fc0/weight"] = rng.normal(size=(256, 11)).astype(np.float32)


def test_real_d4rl_shaped_file_loads(tmp_path: Path):
    path = tmp_path / "hopper_medium-v2.hdf5"
    _write_d4rl_like(path)
    data = load_dataset(path, "Hopper-v5", 11, 3)
    assert len(data) == 2000 and data.episode_bounds() == [(0, 100), (100, 701), (701, 1701)]
    assert set(data.infos) == {"qpos", "qvel", "action_log_probs"}
    assert d4rl_normalized_score("hopper-medium-v2", 3234.3) == pytest.approx(100.0)
    assert d4rl_normalized_score("hopper", -20.272305) == pytest.approx(0.0)


def test_d4rl_v1_without_next_observations(tmp_path: Path):
    path = tmp_path / "v1.hdf5"
    _write_d4rl_like(path, with_next=False)
    data = load_dataset(path)
    raw = h5py.File(path, "r")["observations"][()]
    assert len(data) == 1998  # the timeout row (1700) and the last row have no known successor
    np.testing.assert_array_equal(data.next_observations[5], raw[6])
    # row 99 ends an episode by a fall: row 100 is the next episode's reset, not its successor
    assert data.terminals[99] and not data.terminals[100]
    np.testing.assert_array_equal(data.next_observations[99], raw[99])
    assert data.timeouts[1699] and data.episode_bounds()[-1] == (701, 1700)


@pytest.mark.parametrize(
    "corrupt,message",
    [
        (lambda f: f.__delitem__("timeouts"), "missing key(s) timeouts"),
        (lambda f: (f.__delitem__("rewards"), f.create_dataset("rewards", data=np.zeros(7, np.float32))), "length mismatch"),
        (lambda f: f["observations"].__setitem__((3, 1), np.nan), "observations holds NaN or inf"),
        (lambda f: f["rewards"].__setitem__(2, np.inf), "rewards holds NaN or inf"),
        (lambda f: f["timeouts"].__setitem__(slice(None), False), "no complete episode"),
    ],
)
def test_bad_files(tmp_path: Path, corrupt, message: str):
    path = save_dataset(tmp_path / "bad.hdf5", toy())
    with h5py.File(path, "a") as f:
        corrupt(f)
    with pytest.raises(LitIRLError, match="bad.hdf5") as error:
        load_dataset(path)
    assert message in str(error.value)


def test_bad_files_on_disk_and_wrong_env(tmp_path: Path):
    path = save_dataset(tmp_path / "good.hdf5", toy())
    with pytest.raises(LitIRLError, match="observations have 4 dims, the env has 11"):
        load_dataset(path, obs_dim=11)
    with pytest.raises(LitIRLError, match="actions have 1 dims, the env has 3"):
        load_dataset(path, act_dim=3)
    with pytest.raises(LitIRLError, match="made for InvertedPendulum-v5, the config names Hopper-v5"):
        load_dataset(path, env_id="Hopper-v5")
    truncated = tmp_path / "truncated.hdf5"
    truncated.write_bytes(path.read_bytes()[:1500])
    with pytest.raises(LitIRLError, match="truncated.hdf5: truncated or corrupt"):
        load_dataset(truncated)
    empty = tmp_path / "empty.hdf5"
    empty.write_bytes(b"")
    with pytest.raises(LitIRLError, match="empty.hdf5: file is empty"):
        load_dataset(empty)
    with pytest.raises(LitIRLError, match="does not exist"):
        load_dataset(tmp_path / "missing.hdf5")
    zero = TransitionData(*(np.zeros((0, 4), np.float32) for _ in range(2)), np.zeros(0, np.float32), np.zeros(0, bool), np.zeros(0, bool), np.zeros((0, 4), np.float32))
    with pytest.raises(LitIRLError, match="holds no transitions"):
        load_dataset(save_dataset(tmp_path / "zero.hdf5", zero))


# ------------------------------------------------------------ preferences
def _episodes(returns: list[float], length: int = 10) -> list[TransitionData]:
    """Episodes with constant per-step reward, so every segment's true return is known."""
    out = []
    for i, total in enumerate(returns):
        data = toy(1, length, seed=i)
        data.rewards[:] = total / length
        data.observations[:] = i  # identifies the episode a segment came from
        out.append(data)
    return out


def test_preference_tiers_and_deterministic_labels():
    returns = [float(r) for r in range(30)]  # tiers: 0-9 low, 10-19 medium, 20-29 high
    pairs = build_pairs(_episodes(returns), segment_length=4, pairs=500, seed=1)
    source_a, source_b = pairs.obs_a[:, 0, 0].astype(int), pairs.obs_b[:, 0, 0].astype(int)
    assert (source_a != source_b).all(), "a pair compares two different trajectories"
    assert set(source_a) | set(source_b) <= set(range(20)), "default pairs come from the low and medium tiers"
    np.testing.assert_allclose(pairs.return_a, np.array(returns)[source_a] * 4 / 10, rtol=1e-5)
    np.testing.assert_array_equal(pairs.label, (pairs.return_a >= pairs.return_b).astype(np.float32))
    np.testing.assert_array_equal(pairs.tier_a, source_a // 10)
    np.testing.assert_allclose(pairs.attrs["tier_mean_returns"], [4.5, 14.5, 24.5])

    assert pairs.label_agreement() == 1.0
    preferred, rejected = pairs.winner_returns()
    assert preferred > rejected
    flipped = dataclasses.replace(pairs, label=1.0 - pairs.label)
    assert flipped.label_agreement() == pytest.approx(float((pairs.return_a == pairs.return_b).mean()))  # only ties still agree
    assert flipped.winner_returns() == (rejected, preferred)


def test_bradley_terry_labels():
    rng = np.random.default_rng(0)
    a, b = np.zeros(20000), np.ones(20000)
    assert label_pairs(a, b, "bradley-terry", 1e-3, rng).mean() == 0.0
    frequency = label_pairs(a, b, "bradley-terry", 1.0, rng).mean()
    assert frequency == pytest.approx(1 / (1 + np.e), abs=0.01)  # sigmoid(-1)
    assert label_pairs(a, b, "bradley-terry", 1e6, rng).mean() == pytest.approx(0.5, abs=0.02)
    with pytest.raises(LitIRLError, match="temperature"):
        label_pairs(a, b, "bradley-terry", 0.0, rng)


def test_preference_file_round_trip_and_validation(tmp_path: Path):
    pairs = build_pairs(_episodes([float(r) for r in range(12)]), segment_length=3, pairs=40, pair_tiers=["high"], seed=0)
    assert (pairs.tier_a == 2).all() and (pairs.tier_b == 2).all()
    path = save_preferences(tmp_path / "p.hdf5", pairs, {"env_id": "InvertedPendulum-v5"})
    back = load_preferences(path, obs_dim=4, act_dim=1)
    np.testing.assert_array_equal(back.label, pairs.label)
    with pytest.raises(LitIRLError, match="observations have 4 dims, the env has 11"):
        load_preferences(path, obs_dim=11)
    with pytest.raises(LitIRLError, match="only 1 trajectories"):
        build_pairs(_episodes([1.0, 2.0, 3.0]), segment_length=3, pairs=5, pair_tiers=["high"])
    with pytest.raises(LitIRLError, match="at least 20 steps"):
        build_pairs(_episodes([1.0, 2.0, 3.0, 4.0]), segment_length=20, pairs=5)


# ------------------------------------------------------------ DataModules
def test_expert_datamodule(tmp_path: Path):
    path = save_dataset(tmp_path / "demos.hdf5", toy(n_episodes=4, length=6))
    env = EnvConfig("InvertedPendulum-v5")
    module = ExpertDemonstrations(str(path), env=env, num_trajectories=2, state_only=True, batch_size=5)
    module.setup("fit")
    assert len(module.trajectories()) == 2 and module.transitions.shape == (12,)
    assert "action" not in module.transitions.keys()
    batch = next(iter(module.train_dataloader()))
    assert batch["obs"].shape == (5, 4)
    with pytest.raises(LitIRLError, match="asked for 9 episodes, the file has 4"):
        ExpertDemonstrations(str(path), env=env, num_trajectories=9).setup("fit")
    with pytest.raises(LitIRLError, match="num_trajectories must be > 0"):
        ExpertDemonstrations(str(path), env=env, num_trajectories=0)
    with pytest.raises(LitIRLError, match="made for InvertedPendulum-v5, the config names Hopper-v5"):
        ExpertDemonstrations(str(path), env=EnvConfig("Hopper-v5")).setup("fit")
    offline = OfflineTransitions(str(path), env=env, batch_size=7)
    offline.setup("fit")
    assert next(iter(offline.train_dataloader()))["action"].shape == (7, 1)


def test_preference_datamodule(tmp_path: Path):
    pairs = build_pairs(_episodes([float(r) for r in range(12)]), segment_length=3, pairs=40, seed=0)
    path = save_preferences(tmp_path / "p.hdf5", pairs, {"env_id": "InvertedPendulum-v5"})
    module = PreferenceData(str(path), env=EnvConfig("InvertedPendulum-v5"), batch_size=8)
    module.setup("fit")
    batch = next(iter(module.train_dataloader()))
    assert batch["a", "obs"].shape == (8, 3, 4) and batch["b", "next_obs"].shape == (8, 3, 4) and batch["label"].shape == (8,)
    assert batch["a", "action"].shape == (8, 3, 1)
    with pytest.raises(LitIRLError, match="made for InvertedPendulum-v5, the config names Hopper-v5|11"):
        PreferenceData(str(path), env=EnvConfig("Hopper-v5")).setup("fit")


# ------------------------------------------------------------ rollouts and the command
def _policy_file(tmp_path: Path, name: str, seed: int) -> Path:
    env = EnvConfig("InvertedPendulum-v5")
    spec = probe_env(env)
    torch.manual_seed(seed)
    actor = TanhGaussianActor(spec.obs_dim, spec.act_dim, [16], spec.action_low, spec.action_high)
    return export_policy(Policy(actor, env, "unit test", 0, {}), tmp_path / name)


def test_rollout_is_reproducible(tmp_path: Path):
    policy = load_policy(_policy_file(tmp_path, "p.pt", 0))
    a = rollout(policy.env, policy.actor, episodes=6, seed=3, num_envs=4)
    b = rollout(policy.env, policy.actor, episodes=6, seed=3, num_envs=4)
    np.testing.assert_array_equal(a.observations, b.observations)
    assert len(a.episode_bounds()) == 6 and a.infos["qpos"].shape == (len(a), 2)
    # Episode i starts from the same state and draws the same noise whatever the number of envs
    # (batched matmuls of another size round differently, so later steps agree only approximately).
    c = rollout(policy.env, policy.actor, episodes=6, seed=3, num_envs=1)
    starts_a = [a.observations[s] for s, _ in a.episode_bounds()]
    starts_c = [c.observations[s] for s, _ in c.episode_bounds()]
    np.testing.assert_array_equal(starts_a, starts_c)
    assert len(rollout(policy.env, None, transitions=123, seed=0)) == 123
    # A budget cuts the episodes of all envs: each unfinished one but the last ends in a timeout, so that
    # no episode runs across two envs' data (next_obs continues obs within every episode).
    medium = load_policy(ROOT / "zoo/Hopper-v5/medium.pt")
    budget = rollout(medium.env, medium.actor, transitions=3000, seed=0, num_envs=8)
    pieces = [*budget.episode_bounds(), (budget.episode_bounds()[-1][1], len(budget))]  # the open tail too
    for start, stop in pieces:
        np.testing.assert_array_equal(budget.next_observations[start : stop - 1], budget.observations[start + 1 : stop])
    assert not (budget.terminals[-1] or budget.timeouts[-1]), "the last episode stays open, as in D4RL"


def data_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "lit_irl.data.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(result.stderr[-3000:])
    return result


def test_lit_irl_data_end_to_end(tmp_path: Path):
    low, high = _policy_file(tmp_path, "low.pt", 0), _policy_file(tmp_path, "high.pt", 1)
    out = data_cli("demos", "--policy", str(high), "--episodes", "3", "--out", str(tmp_path / "demos.hdf5")).stdout
    assert "3 episodes" in out
    assert len(load_dataset(tmp_path / "demos.hdf5", "InvertedPendulum-v5", 4, 1).episode_bounds()) == 3
    data_cli("offline", "--kind", "random", "--env", "InvertedPendulum-v5", "--transitions", "500", "--out", str(tmp_path / "random.hdf5"))
    data_cli("offline", "--kind", "medium", "--policy", str(low), "--transitions", "400", "--out", str(tmp_path / "medium.hdf5"))
    data_cli("offline", "--kind", "medium-expert", "--medium-policy", str(low), "--expert-policy", str(high), "--transitions", "300", "--out", str(tmp_path / "me.hdf5"))
    assert len(load_dataset(tmp_path / "random.hdf5")) == 500 and len(load_dataset(tmp_path / "me.hdf5")) == 600
    data_cli("preferences", "--checkpoints", str(low), str(high), "--episodes-per-checkpoint", "6", "--segment-length", "2", "--pairs", "30", "--out", str(tmp_path / "prefs.hdf5"))
    assert len(load_preferences(tmp_path / "prefs.hdf5")) == 30
    shown = data_cli("inspect", str(tmp_path / "medium.hdf5")).stdout
    assert "400" in shown and "episode return" in shown
    assert "labels agreeing with true return" in data_cli("inspect", str(tmp_path / "prefs.hdf5")).stdout
    bad = data_cli("offline", "--kind", "medium", "--transitions", "10", "--out", str(tmp_path / "x.hdf5"), check=False)
    assert bad.returncode == 2 and bad.stderr.strip().startswith("lit-irl-data: error: --kind medium needs --policy")


def test_medium_replay_from_a_training_checkpoint(tmp_path: Path):
    from lit_irl.checkpoint_io import load_checkpoint_file
    from tests.conftest import run_cli, tiny_sac_args

    run_cli("fit", *tiny_sac_args(tmp_path / "runs", total=300, warmup=100), "--checkpoint.keep_all", "true", "--checkpoint.every_n_steps", "100")
    (folder,) = (tmp_path / "runs").glob("*/version_0/checkpoints")
    last, kept = folder / "last.ckpt", folder / "env_steps=200.ckpt"
    assert "collection" in load_checkpoint_file(last) and "collection" not in load_checkpoint_file(kept), "kept checkpoints are light"
    data_cli("offline", "--kind", "medium-replay", "--checkpoint", str(last), "--out", str(tmp_path / "mr.hdf5"))
    replay = load_dataset(tmp_path / "mr.hdf5", require_complete_episode=False)
    assert len(replay) == 300 and replay.attrs["env_steps"] == 300
    data_cli("offline", "--kind", "medium-replay", "--checkpoint", str(last), "--up-to-env-steps", "200", "--out", str(tmp_path / "mr200.hdf5"))
    first = load_dataset(tmp_path / "mr200.hdf5", require_complete_episode=False)
    assert len(first) == 200 and first.attrs["env_steps"] == 200
    np.testing.assert_array_equal(first.observations, replay.observations[:200])
    light = data_cli("offline", "--kind", "medium-replay", "--checkpoint", str(kept), "--out", str(tmp_path / "x.hdf5"), check=False)
    assert light.returncode == 2 and "--up-to-env-steps" in light.stderr
    demos = data_cli("demos", "--policy", str(kept), "--episodes", "2", "--out", str(tmp_path / "d.hdf5"))
    assert "2 episodes" in demos.stdout


def test_normalized_score_against_our_reference(monkeypatch):
    from lit_irl.data import scores

    monkeypatch.setattr(scores, "lit_irl_references", lambda: {"Hopper-v5": {"random": 10.0, "expert": 110.0}, "Ant-v5": {"random": 1.0}})
    assert scores.normalized_score("Hopper-v5", 60.0) == pytest.approx(50.0)
    assert scores.normalized_score("Ant-v5", 60.0) is None, "no score before the zoo has an expert"
    assert scores.normalized_score("Walker2d-v5", 60.0) is None


def test_local_minari_dataset_loads(tmp_path: Path, monkeypatch):
    minari = pytest.importorskip("minari")
    import gymnasium as gym
    from minari.data_collector import EpisodeBuffer

    from lit_irl.data.d4rl import load_minari

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    env = gym.make("InvertedPendulum-v5")
    buffers = []
    for episode in range(3):
        obs, _ = env.reset(seed=episode)
        observations, actions, rewards, terminations, truncations = [obs], [], [], [], []
        for t in range(20):
            action = env.action_space.sample()
            obs, reward, terminated, truncated, _ = env.step(action)
            observations.append(obs), actions.append(action), rewards.append(reward)
            terminations.append(terminated), truncations.append(truncated or t == 19)
            if terminated:
                break
        buffers.append(EpisodeBuffer(id=episode, observations=np.array(observations), actions=np.array(actions), rewards=np.array(rewards),
                                     terminations=np.array(terminations), truncations=np.array(truncations), infos={}))
    minari.create_dataset_from_buffers("test/pendulum/random-v0", buffers, env="InvertedPendulum-v5", algorithm_name="random")
    data = load_minari("test/pendulum/random-v0")
    lengths = [len(b.actions) for b in buffers]
    assert [e - s for s, e in data.episode_bounds()] == lengths and data.attrs["env_id"] == "InvertedPendulum-v5"
    np.testing.assert_allclose(data.next_observations[0], buffers[0].observations[1], rtol=1e-6)
    with pytest.raises(LitIRLError, match="not found locally"):
        load_minari("test/pendulum/missing-v0")

    # minari:<id> wherever a dataset path is accepted: the loader (with its checks), DataModules, the CLI.
    from lit_irl.data.cli import main as data_cli
    from lit_irl.data.d4rl import load_dataset
    from lit_irl.data.modules import ExpertDemonstrations
    from lit_irl.envs import EnvConfig

    same = load_dataset("minari:test/pendulum/random-v0", "InvertedPendulum-v5", 4, 1)
    np.testing.assert_array_equal(same.observations, data.observations)
    with pytest.raises(LitIRLError, match="dataset minari:test/pendulum/random-v0: observations have 4 dims, the env has 11"):
        load_dataset("minari:test/pendulum/random-v0", obs_dim=11)
    demos = ExpertDemonstrations("minari:test/pendulum/random-v0", EnvConfig("InvertedPendulum-v5"), num_trajectories=2)
    demos.setup()
    assert len(demos.trajectories()) == 2
    data_cli(["inspect", "minari:test/pendulum/random-v0"])


def test_medium_is_a_third_of_the_way_from_random_to_expert():
    from lit_irl.data.cli import pick_by_fraction

    rows = [(Path(f"{r}.ckpt"), i, float(r), 0.0) for i, r in enumerate([-1600, -1200, -950, -500, -150])]
    # Pendulum-like: random -1277, expert -150 -> target -901 (not 1/3 of -150 = -50, which picks the expert)
    assert pick_by_fraction(rows, 1 / 3, reference=-150.0, floor=-1277.0)[2] == -950
    assert pick_by_fraction(rows, 1 / 3, reference=-150.0)[2] == -150


def test_rollout_past_termination_keeps_the_physics_running():
    config = EnvConfig("Hopper-v5")
    plain = rollout(config, None, episodes=1, seed=0, num_envs=1, record_physics=False)
    assert plain.terminals[-1] and len(plain) < 1000, "random actions make the hopper fall early"
    past = rollout(config, None, episodes=1, seed=0, num_envs=1, record_physics=False, past_termination=True)
    assert len(past) == 1000 and not past.terminals.any() and past.timeouts[-1]
    np.testing.assert_array_equal(past.observations[: len(plain)], plain.observations)
    after_fall = past.observations[len(plain) :]
    assert np.abs(np.diff(after_fall, axis=0)).max() > 0, "states after the fall are the simulated ones, not a repeated terminal state"


@pytest.mark.parametrize("budget", [{"episodes": 0}, {"transitions": -5}])
def test_rollout_refuses_an_empty_budget(budget: dict):
    with pytest.raises(LitIRLError, match="positive number of episodes or transitions"):
        rollout(EnvConfig("InvertedPendulum-v5"), None, **budget)


def test_preference_classes_across_tiers_and_quality_table():
    """The AIHF paper's data: tiers at fractions of the demonstration level, every pair compares the
    non-preferred (low) with the preferred (medium) class, the better class wins."""
    from lit_irl.data.cli import quality_table

    returns = [float(r) for r in range(30)]  # with bounds 5 / 12 / 20: 0-4 none, 5-11 low, 12-19 medium, 20-29 high
    pairs = build_pairs(_episodes(returns), segment_length=4, pairs=300, seed=2, tier_returns=[5.0, 12.0, 20.0], pairing="across", label="tier")
    source_a, source_b = pairs.obs_a[:, 0, 0].astype(int), pairs.obs_b[:, 0, 0].astype(int)
    assert set(source_a) <= set(range(12, 20)) and set(source_b) <= set(range(5, 12)), "a from the medium class, b from the low one"
    assert (pairs.label == 1).all() and np.isfinite(pairs.next_obs_a).all()
    np.testing.assert_allclose(pairs.attrs["tier_mean_returns"], [8.0, 15.5, 24.5])
    table = quality_table("Toy-v0", pairs, np.array([30.0, 32.0]))
    assert "| Toy-v0 | 8.0 ± 2.0 (0.26) | 15.5 ± 2.3 (0.50) | 31.0 ± 1.0 (1.00) |" in table
    with pytest.raises(LitIRLError, match="pairing across compares two tiers"):
        build_pairs(_episodes(returns), segment_length=4, pairs=5, pair_tiers=["low"], pairing="across")
    with pytest.raises(LitIRLError, match="2 or 3 increasing returns"):
        build_pairs(_episodes(returns), segment_length=4, pairs=5, tier_returns=[12.0, 5.0])


def test_plain_demonstrations_in_the_absorbing_and_fixed_horizon_conventions(tmp_path: Path):
    from lit_irl.data.termination import to_termination

    data = toy(n_episodes=2, length=4)
    data.terminals[3], data.timeouts[3] = True, False  # episode 0 falls at step 4; episode 1 runs to its time limit
    absorbing = to_termination(data, "absorbing", horizon=6)
    assert absorbing.obs_dim == data.obs_dim + 1 and not absorbing.terminals.any()
    bounds = absorbing.episode_bounds()
    assert [stop - start for start, stop in bounds] == [6, 4], "a fall is padded to the horizon; a time-limit end is not"
    np.testing.assert_array_equal(absorbing.observations[:4, -1], 0.0)
    absorbing_state = np.r_[np.zeros(data.obs_dim), 1.0]
    np.testing.assert_array_equal(absorbing.next_observations[3], absorbing_state)  # the fall leads into it
    np.testing.assert_array_equal(absorbing.observations[4:6], [absorbing_state] * 2)
    assert absorbing.rewards[4:6].sum() == 0 and absorbing.timeouts[5] and not absorbing.timeouts[4]
    frozen = to_termination(data, "fixed_horizon", horizon=6)
    np.testing.assert_array_equal(frozen.observations[4:6], [data.next_observations[3]] * 2)
    with pytest.raises(LitIRLError, match="longer than the horizon 3"):
        to_termination(data, "absorbing", horizon=3)
    # the learner's data module reads a plain file into an absorbing env's form
    env = EnvConfig("Hopper-v5", termination="absorbing")
    module = ExpertDemonstrations(str(ROOT / "zoo/Hopper-v5/expert_demos.hdf5"), env=env, num_trajectories=2)
    module.setup("fit")
    assert module.transitions["obs"].shape[-1] == 12 and module.transitions["obs"][:, -1].eq(0).all()
