import numpy as np
import pytest

from lit_irl.envs import EnvConfig, get_env_state, make_env, probe_env, set_env_state
from lit_irl.errors import LitIRLError


def test_unknown_env_lists_the_known_ones():
    with pytest.raises(LitIRLError, match="unknown env id 'Hoper-v5'.*Hopper-v5"):
        EnvConfig("Hoper-v5")


def test_bad_termination_and_horizon():
    with pytest.raises(LitIRLError, match="termination"):
        EnvConfig("Hopper-v5", termination="never")
    with pytest.raises(LitIRLError, match="max_episode_steps"):
        EnvConfig("Hopper-v5", max_episode_steps=0)


def _fall(env, steps):
    """Hopper with maximal torques falls within a few dozen steps."""
    out = []
    for _ in range(steps):
        out.append(env.step(np.ones(env.action_space.shape, dtype=np.float32)))
    return out


def test_plain_termination_ends_the_episode():
    env = make_env(EnvConfig("Hopper-v5"))
    env.reset(seed=0)
    steps = [s for s in _fall(env, 200)]
    assert any(s[2] for s in steps)


def test_fixed_horizon_repeats_the_terminal_observation_until_the_horizon():
    env = make_env(EnvConfig("Hopper-v5", termination="fixed_horizon", max_episode_steps=150))
    env.reset(seed=0)
    steps = _fall(env, 150)
    assert not any(s[2] for s in steps), "fixed horizon never reports termination"
    assert [s[3] for s in steps].index(True) == 149, "truncated exactly at the horizon"
    dead = [i for i, s in enumerate(steps) if s[4].get("after_termination")]
    assert dead, "Hopper should have fallen"
    first = dead[0]
    assert all(s[1] == 0.0 for s in steps[first:])
    np.testing.assert_array_equal(steps[first][0], steps[-1][0])
    np.testing.assert_array_equal(steps[first - 1][0], steps[first][0])


def test_absorbing_state_adds_an_indicator():
    config = EnvConfig("Hopper-v5", termination="absorbing", max_episode_steps=150)
    assert probe_env(config).obs_dim == 12
    env = make_env(config)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (12,) and obs[-1] == 0.0
    steps = _fall(env, 150)
    last = steps[-1][0]
    assert last[-1] == 1.0 and not last[:-1].any()
    assert not any(s[2] for s in steps) and steps[-1][3]


@pytest.mark.parametrize("termination", ["plain", "fixed_horizon"])
def test_snapshot_restores_the_future_bit_for_bit(termination):
    config = EnvConfig("Hopper-v5", termination=termination)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-0.3, 0.3, size=(60, 3)).astype(np.float32)
    env = make_env(config)
    env.reset(seed=3)
    for a in actions[:20]:
        env.step(a)
    state = get_env_state(env)
    reference = [env.step(a)[:4] for a in actions[20:]]
    restored = make_env(config)
    restored.reset(seed=99)  # a different episode, overwritten by the snapshot
    set_env_state(restored, state)
    replay = [restored.step(a)[:4] for a in actions[20:]]
    for (o1, r1, t1, tr1), (o2, r2, t2, tr2) in zip(reference, replay):
        assert np.array_equal(o1, o2) and r1 == r2 and t1 == t2 and tr1 == tr2
