import copy

import pytest
import torch
from tensordict import TensorDict

from lit_irl.errors import LitIRLError
from lit_irl.policy import SACConfig, SACPolicy


def make_batch(n=32, obs_dim=3, act_dim=2, terminated=False):
    return TensorDict(
        {
            "obs": torch.randn(n, obs_dim),
            "action": torch.rand(n, act_dim) * 2 - 1,
            "next_obs": torch.randn(n, obs_dim),
            "terminated": torch.full((n,), terminated),
        },
        batch_size=[n],
    )


@pytest.fixture
def policy():
    torch.manual_seed(0)
    return SACPolicy(3, 2, -torch.ones(2), torch.ones(2), SACConfig(actor_hidden=[16], critic_hidden=[16], gamma=0.9, tau=0.1))


def test_critic_target_is_the_soft_bellman_backup(policy):
    batch = make_batch()
    reward = torch.randn(32)
    torch.manual_seed(3)
    loss, _ = policy.critic_loss(batch, reward)
    torch.manual_seed(3)
    with torch.no_grad():
        next_action, next_log_prob = policy.actor(batch["next_obs"])
        x = torch.cat([batch["next_obs"], next_action], -1)
        q_next = torch.minimum(policy.critic_target(x)[0], policy.critic_target(x)[1]).squeeze(-1)
        target = reward + 0.9 * (q_next - policy.alpha * next_log_prob)
        q = policy.critic(torch.cat([batch["obs"], batch["action"]], -1)).squeeze(-1)
    expected = ((q[0] - target) ** 2).mean() + ((q[1] - target) ** 2).mean()
    torch.testing.assert_close(loss, expected)


def test_terminal_transitions_do_not_bootstrap(policy):
    batch = make_batch(terminated=True)
    reward = torch.randn(32)
    loss, _ = policy.critic_loss(batch, reward)
    q = policy.critic(torch.cat([batch["obs"], batch["action"]], -1)).squeeze(-1).detach()
    torch.testing.assert_close(loss, ((q - reward) ** 2).mean(-1).sum())


def test_a_reward_of_log_pi_shares_the_actor_pass_and_matches_the_precomputed_reward(policy):
    """AIRL's ``f - log pi`` given as a function: the same update as with the reward computed beforehand."""
    twin = copy.deepcopy(policy)
    batch, shaped = make_batch(), torch.randn(32)
    with torch.no_grad():
        precomputed = shaped - policy.actor.log_prob(batch["obs"], batch["action"])
    torch.manual_seed(5)
    policy.update(batch, precomputed, policy.make_optimizers())
    torch.manual_seed(5)
    twin.update(batch, lambda log_pi: shaped - log_pi, twin.make_optimizers())
    for ours, reference in zip(twin.parameters(), policy.parameters(), strict=True):
        torch.testing.assert_close(ours, reference, rtol=0, atol=0)


def test_actor_loss_gives_no_critic_gradients(policy):
    actor_loss, alpha_loss, _ = policy.actor_loss(torch.randn(8, 3))
    (actor_loss + alpha_loss).backward()
    assert all(p.grad is None for p in policy.critic.parameters())
    assert all(p.grad is not None for p in policy.actor.parameters())
    assert policy.log_alpha.grad is not None
    assert all(p.requires_grad for p in policy.critic.parameters())


def test_update_moves_networks_and_polyak_target(policy):
    optimizers = policy.make_optimizers()
    before = copy.deepcopy(policy.state_dict())
    stats = policy.update(make_batch(), torch.randn(32), optimizers)
    after = policy.state_dict()
    for key in ("critic.layers.0.weight", "actor.net.0.weight", "log_alpha"):
        assert not torch.equal(before[key], after[key]), key
    expected_target = 0.9 * before["critic_target.layers.0.weight"] + 0.1 * after["critic.layers.0.weight"]
    torch.testing.assert_close(after["critic_target.layers.0.weight"], expected_target)
    assert int(policy.updates) == 1
    assert {"loss/critic", "loss/actor", "loss/alpha", "alpha", "entropy"} <= set(stats)


def test_critic_warmup_holds_the_actor_then_releases_it():
    torch.manual_seed(0)
    policy = SACPolicy(3, 2, -torch.ones(2), torch.ones(2), SACConfig(actor_hidden=[16], critic_hidden=[16], critic_warmup_updates=2))
    optimizers = policy.make_optimizers()
    actor, critic, log_alpha = copy.deepcopy(policy.actor.state_dict()), copy.deepcopy(policy.critic.state_dict()), policy.log_alpha.item()
    for _ in range(2):
        stats = policy.update(make_batch(), torch.randn(32), optimizers)
    assert all(torch.equal(v, policy.actor.state_dict()[k]) for k, v in actor.items()), "the actor is held"
    assert not torch.equal(critic["layers.0.weight"], policy.critic.state_dict()["layers.0.weight"])
    assert policy.log_alpha.item() == log_alpha, "the temperature is held with the actor (it has no equilibrium meanwhile)"
    assert "loss/actor" not in stats and "loss/alpha" not in stats
    stats = policy.update(make_batch(), torch.randn(32), optimizers)
    assert not torch.equal(actor["net.0.weight"], policy.actor.state_dict()["net.0.weight"]) and "loss/actor" in stats
    assert policy.log_alpha.item() != log_alpha and "loss/alpha" in stats
    with pytest.raises(LitIRLError, match="critic_warmup_updates must be >= 0"):
        SACConfig(critic_warmup_updates=-1)


def test_fixed_alpha_has_no_temperature_optimizer():
    policy = SACPolicy(3, 2, -torch.ones(2), torch.ones(2), SACConfig(actor_hidden=[8], critic_hidden=[8], learn_alpha=False, init_alpha=0.2))
    assert len(policy.make_optimizers()) == 2
    policy.update(make_batch(), torch.randn(32), policy.make_optimizers())
    assert float(policy.alpha) == pytest.approx(0.2)


def test_reward_shape_is_checked(policy):
    with pytest.raises(ValueError, match="reward must have shape"):
        policy.critic_loss(make_batch(), torch.randn(32, 1))


@pytest.mark.parametrize("field,value", [("batch_size", 0), ("actor_hidden", [64, 0]), ("critic_lr", -1.0), ("actor_hidden", [])])
def test_bad_config_values(field, value):
    with pytest.raises(LitIRLError, match=field.split("_")[0]):
        SACConfig(**{field: value})
