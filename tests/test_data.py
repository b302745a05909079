import pytest
import torch

from lit_irl.data import EnvRunner, TransitionReplay
from lit_irl.data.collect import TorchRLRunner
from lit_irl.data.replay import TRANSITION_KEYS
from lit_irl.envs import EnvConfig, probe_env
from lit_irl.data.rollout import rollout
from lit_irl.errors import LitIRLError
from lit_irl.nn import GaussianActor, TanhGaussianActor

KEYS = set(TRANSITION_KEYS)


def _actor(config):
    spec = probe_env(config)
    torch.manual_seed(0)
    return TanhGaussianActor(spec.obs_dim, spec.act_dim, [16], spec.action_low, spec.action_high)


def test_runner_is_reproducible_and_continues_episodes():
    config = EnvConfig("InvertedPendulum-v5")
    actor = _actor(config)
    a, b = EnvRunner(config, seed=1), EnvRunner(config, seed=1)
    ta, ea = a.collect(300, actor)
    tb1, eb1 = b.collect(100, actor)
    tb2, eb2 = b.collect(200, actor)
    assert set(ta.keys()) == KEYS and ta.shape == (300, 1)
    ta, tb1, tb2 = ta.reshape(-1), tb1.reshape(-1), tb2.reshape(-1)
    assert torch.equal(ta["obs"], torch.cat([tb1["obs"], tb2["obs"]]))
    assert ea == eb1 + eb2 and len(ea) > 0
    # next_obs of a step is obs of the following step unless the episode ended
    same = ~ta["done"][:-1]
    assert torch.equal(ta["next_obs"][:-1][same], ta["obs"][1:][same])
    c = EnvRunner(config, seed=2)
    assert not torch.equal(c.collect(300, actor)[0]["obs"], ta["obs"])


def test_runner_state_dict_resumes_exactly():
    config = EnvConfig("Hopper-v5")
    actor = _actor(config)
    straight = EnvRunner(config, seed=0)
    straight.collect(150, actor)
    state = straight.state_dict()
    expected, _ = straight.collect(150, actor)
    resumed = EnvRunner(config, seed=5)
    resumed.load_state_dict(state)
    got, _ = resumed.collect(150, actor)
    for key in KEYS:
        assert torch.equal(expected[key], got[key]), key


def test_several_envs_step_together_and_resume_exactly():
    config = EnvConfig("Hopper-v5")
    actor = _actor(config)
    runner = EnvRunner(config, seed=0, num_envs=3)
    first, episodes = runner.collect(200, actor)
    assert first.shape == (200, 3) and len(episodes) > 0
    # each column is one env's stream: next_obs is the following obs unless its episode ended
    same = ~first["done"][:-1]
    assert torch.equal(first["next_obs"][:-1][same], first["obs"][1:][same])
    assert not torch.equal(first["obs"][0, 0], first["obs"][0, 1]), "each env starts its own episode"
    state = runner.state_dict()
    expected, _ = runner.collect(100, actor)
    resumed = EnvRunner(config, seed=9, num_envs=3)
    resumed.load_state_dict(state)
    got, _ = resumed.collect(100, actor)
    for key in KEYS:
        assert torch.equal(expected[key], got[key]), key
    with pytest.raises(LitIRLError, match="num_envs 3"):
        EnvRunner(config, seed=0, num_envs=2).load_state_dict(state)


def test_unbounded_actions_are_clipped_for_the_env_and_kept_for_the_learner():
    config = EnvConfig("InvertedPendulum-v5")
    spec = probe_env(config)
    actor = GaussianActor(spec.obs_dim, spec.act_dim, [8], spec.action_low, spec.action_high, init_log_std=1.5)
    transitions, _ = EnvRunner(config, seed=0).collect(200, actor)
    assert transitions["action"].abs().max() > spec.action_high.max(), "the sample leaves the box"
    data = rollout(config, actor, episodes=2, seed=0, num_envs=2)
    assert abs(data.actions).max() <= float(spec.action_high.max()), "data files hold what the env executed"


def test_warmup_actions_are_uniform_in_the_box():
    config = EnvConfig("Hopper-v5")
    transitions, _ = EnvRunner(config, seed=0).collect(500, None)
    actions = transitions["action"]
    assert actions.min() >= -1 and actions.max() <= 1 and actions.std() > 0.5


def test_replay_round_trip_and_hidden_reward():
    config = EnvConfig("InvertedPendulum-v5")
    transitions, _ = EnvRunner(config, seed=0).collect(120, None)
    replay = TransitionReplay(100, hide_true_reward=True)
    replay.extend(transitions.reshape(-1))  # wraps around: cursor is part of the state
    copy = TransitionReplay(100, hide_true_reward=True)
    copy.load_state_dict(replay.state_dict())
    assert len(copy) == len(replay) == 100
    torch.manual_seed(0)
    a = replay.sample(16)
    torch.manual_seed(0)
    b = copy.sample(16)
    assert "true_reward" not in a.keys()
    assert torch.equal(a["obs"], b["obs"])
    assert "true_reward" in replay.sample(4, include_true_reward=True).keys()
    # The fast path draws what TorchRL's own sample() draws, row for row.
    torch.manual_seed(1)
    ours = replay.sample(32, include_true_reward=True)
    torch.manual_seed(1)
    torchrl = replay.buffer.sample(32)
    for key in ours.keys():
        assert torch.equal(ours[key], torchrl[key]), key
    with pytest.raises(LitIRLError, match="the replay buffer is empty"):
        TransitionReplay(10).sample(4)
    more, _ = EnvRunner(config, seed=1).collect(10, None)
    replay.extend(more.reshape(-1))
    copy.extend(more.reshape(-1))
    assert torch.equal(replay.buffer.storage[:100]["obs"], copy.buffer.storage[:100]["obs"])


def test_torchrl_collector_path_gives_the_same_keys():
    config = EnvConfig("InvertedPendulum-v5")
    actor = _actor(config)
    runner = TorchRLRunner(config, seed=0, rank=0, actor=actor, steps_per_collect=50, warmup_steps=0)
    try:
        transitions, episodes = runner.collect(50, actor)
    finally:
        runner.close()
    assert set(transitions.keys()) == KEYS and transitions.shape == (50, 1)
    assert transitions["obs"].dtype == torch.float32
    assert all(length > 0 for _, length in episodes)


def _aim(actor: TanhGaussianActor, sign: float) -> None:
    """Make ``actor`` push (almost) deterministically to one end of its action box."""
    last = actor.net[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor([10.0 * sign, -100.0]))  # mean, pre-clamp log std (per action dim: 1)


def _ends(actions: torch.Tensor, high: float) -> tuple[bool, bool]:
    return bool((actions > 0.99 * high).all()), bool((actions < -0.99 * high).all())


@pytest.mark.parametrize("workers", [1, 2])
def test_torchrl_collector_acts_with_the_current_weights_and_skips_warmup_after_resume(workers: int):
    config = EnvConfig("InvertedPendulum-v5")
    high = float(probe_env(config).action_high[0])
    actor = _actor(config)
    runner = TorchRLRunner(config, seed=0, rank=0, actor=actor, steps_per_collect=40, warmup_steps=40, workers=workers)
    try:
        warmup, _ = runner.collect(40, None)
        assert _ends(warmup["action"], high) == (False, False), "warm-up acts at random"
        _aim(actor, +1.0)
        assert set(warmup.keys()) == KEYS and warmup.shape == (40, 1)
        assert _ends(runner.collect(40, actor)[0]["action"], high) == (True, False)
        _aim(actor, -1.0)  # an update between batches reaches the collector
        assert _ends(runner.collect(40, actor)[0]["action"], high) == (False, True)
        saved = runner.state_dict()
    finally:
        runner.close()
    resumed = TorchRLRunner(config, seed=0, rank=0, actor=actor, steps_per_collect=40, warmup_steps=40, workers=workers)
    resumed.load_state_dict(saved)
    try:
        assert _ends(resumed.collect(40, actor)[0]["action"], high) == (False, True), "no second warm-up after a resume"
    finally:
        resumed.close()
    # Resumed mid-warm-up from a checkpoint without this runner's state (another collector wrote it):
    # random only for the run's warm-up steps left, not for a full warmup_steps of its own.
    midway = TorchRLRunner(config, seed=0, rank=0, actor=actor, steps_per_collect=40, warmup_steps=80, workers=workers)
    midway.resume_at(40)
    try:
        assert _ends(midway.collect(40, None)[0]["action"], high) == (False, False), "the rest of the warm-up is random"
        assert _ends(midway.collect(40, actor)[0]["action"], high) == (False, True), "then the actor acts"
    finally:
        midway.close()


def test_replay_checkpoint_holds_only_the_filled_rows():
    import io

    transitions, _ = EnvRunner(EnvConfig("InvertedPendulum-v5"), seed=0).collect(50, None)
    sizes = {}
    for capacity in (100, 100_000):
        replay = TransitionReplay(capacity)
        replay.extend(transitions.reshape(-1))
        file = io.BytesIO()
        torch.save(replay.state_dict(), file)
        sizes[capacity] = len(file.getvalue())
    # a view of the preallocated storage would write all 100k rows (~6 MB here)
    assert sizes[100_000] < 1.2 * sizes[100]


@pytest.mark.parametrize("written", [70, 130])  # before and after the ring of 100 wraps
def test_recent_replay_state_keeps_the_newest_rows_in_write_order(written: int):
    transitions, _ = EnvRunner(EnvConfig("InvertedPendulum-v5"), seed=0).collect(written, None)
    rows = transitions.reshape(-1)
    replay = TransitionReplay(100)
    replay.extend(rows)
    recent = TransitionReplay.recent_state(replay.state_dict(), 30)
    assert TransitionReplay.is_state(recent) and recent["recent_of"] == written
    copy = TransitionReplay(100)
    copy.load_state_dict(recent)
    assert len(copy) == 30 and torch.equal(copy.buffer.storage[:30]["obs"], rows["obs"][-30:])
    more, _ = EnvRunner(EnvConfig("InvertedPendulum-v5"), seed=1).collect(5, None)
    copy.extend(more.reshape(-1))  # the next write goes after them
    assert len(copy) == 35 and torch.equal(copy.buffer.storage[30:35]["obs"], more.reshape(-1)["obs"])
    assert TransitionReplay.recent_state(recent, 50) is recent  # fewer rows than asked: unchanged
