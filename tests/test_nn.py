import math

import pytest
import torch
from torch.distributions import Normal, TransformedDistribution
from torch.distributions.transforms import AffineTransform, TanhTransform

from lit_irl.nn import EnsembleMLP, TanhGaussianActor


@pytest.mark.parametrize("out_dim", [1, 2])  # 1: the scalar head's own path (Q-values)
def test_ensemble_matches_independent_mlps(out_dim: int):
    torch.manual_seed(0)
    ensemble = EnsembleMLP(3, 5, [8, 8], out_dim)
    x = torch.randn(4, 5, requires_grad=True)
    out = ensemble(x)
    assert out.shape == (3, 4, out_dim)
    expected = []
    for k in range(3):
        h = x
        for i, layer in enumerate(ensemble.layers):
            h = h @ layer.weight[k] + layer.bias[k]
            if i < len(ensemble.layers) - 1:
                h = torch.relu(h)
        expected.append(h)
    torch.testing.assert_close(out, torch.stack(expected))
    # The same gradients, to the weights and to the input (the actor's gradient flows through Q).
    params = [x, *ensemble.parameters()]
    got = torch.autograd.grad(out.square().sum(), params)
    want = torch.autograd.grad(torch.stack(expected).square().sum(), params)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w)


def test_actor_log_prob_matches_torch_distribution():
    torch.manual_seed(0)
    low, high = torch.tensor([-2.0, 0.0]), torch.tensor([2.0, 1.0])
    actor = TanhGaussianActor(3, 2, [16], low, high)
    obs = torch.randn(5, 3)
    generator = torch.Generator().manual_seed(1)
    action, log_prob = actor(obs, generator=generator)
    mean, log_std = actor._mean_log_std(obs)
    scale, bias = (high - low) / 2, (high + low) / 2
    dist = TransformedDistribution(Normal(mean, log_std.exp()), [TanhTransform(), AffineTransform(bias, scale)])
    expected = dist.log_prob(action.clamp(low + 1e-6, high - 1e-6)).sum(-1)
    torch.testing.assert_close(log_prob, expected, rtol=1e-3, atol=1e-3)
    assert ((action >= low) & (action <= high)).all()


def test_actor_act_matches_forward_and_is_reproducible():
    torch.manual_seed(0)
    actor = TanhGaussianActor(3, 2, [16], -torch.ones(2), torch.ones(2))
    obs = torch.randn(4, 3)
    a1 = actor.act(obs, generator=torch.Generator().manual_seed(7))
    a2, _ = actor(obs, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(a1, a2.detach())
    deterministic = actor.act(obs, deterministic=True)
    torch.testing.assert_close(deterministic, torch.tanh(actor._mean_log_std(obs)[0]))
    assert not math.isnan(float(a1.sum()))


def test_mlp_with_a_linear_first_layer():
    from lit_irl.nn import mlp

    net = mlp(5, [8, 8], 1, "relu", linear_first_layer=True)
    assert [type(m).__name__ for m in net] == ["Linear", "Linear", "ReLU", "OutputLinear"]
    # without the activation the first two layers compose to one affine map
    x = torch.randn(4, 5)
    w = net[1].weight @ net[0].weight
    b = net[1].weight @ net[0].bias + net[1].bias
    assert torch.allclose(net[1](net[0](x)), x @ w.T + b, atol=1e-6)


def test_zero_init_reward_starts_neutral_and_learns_the_ordering():
    from tensordict import TensorDict

    from lit_irl.rewards import RewardConfig, RewardModel, ml_irl_loss

    torch.manual_seed(0)
    reward = RewardModel(4, 2, RewardConfig(zero_init=True, lr=1e-2))
    expert = TensorDict(obs=torch.randn(3, 10, 4) + 1.0, batch_size=[3, 10])
    agent = TensorDict(obs=torch.randn(3, 10, 4) - 1.0, batch_size=[3, 10])
    assert torch.equal(reward(expert), torch.zeros(3, 10)), "no state is preferred before the first reward step"
    optimizer = reward.make_optimizer()
    for _ in range(5):
        loss, _ = ml_irl_loss(reward(agent), reward(expert), 1.0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert reward(expert).mean() > 0 > reward(agent).mean(), "from zero, the steps order expert above agent, symmetric about 0"


def test_observation_normalizer_loads_checkpoints_without_scale_and_shift():
    from lit_irl.nn.actor import ObservationNormalizer

    fitted = ObservationNormalizer(3)
    fitted.set(torch.randn(100, 3) * 4 + 2)
    old_format = {k: v for k, v in fitted.state_dict().items() if k not in ("scale", "shift")}  # written before they existed
    loaded = ObservationNormalizer(3)
    loaded.load_state_dict(old_format)
    obs = torch.randn(5, 3)
    assert torch.allclose(loaded(obs), fitted(obs))


def test_bfloat16_reward_matches_float32_and_learns_in_float32():
    from tensordict import TensorDict

    from lit_irl.errors import LitIRLError
    from lit_irl.rewards import RewardConfig, RewardModel, ml_irl_loss

    states = TensorDict(obs=torch.randn(64, 4), action=torch.rand(64, 2) * 2 - 1, batch_size=[64])
    models = {}
    for dtype in ("float32", "bfloat16"):
        torch.manual_seed(0)
        models[dtype] = RewardModel(4, 2, RewardConfig(inputs="sa", hidden=[32, 32], compute_dtype=dtype, lr=1e-2))
    fast, exact = models["bfloat16"](states), models["float32"](states)
    assert fast.dtype == torch.float32, "rewards leave the network as float32 whatever it computes in"
    assert 0 < (fast - exact).abs().max() < 0.02 * exact.abs().max() + 1e-3, "bf16's error: visible, and about its 3 digits"
    optimizer = models["bfloat16"].make_optimizer()
    expert, agent = states[:32], states[32:]
    before = models["bfloat16"](expert).mean() - models["bfloat16"](agent).mean()
    for _ in range(20):
        loss, _ = ml_irl_loss(models["bfloat16"](agent)[None], models["bfloat16"](expert)[None], 1.0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert all(p.dtype == torch.float32 for p in models["bfloat16"].parameters()), "Adam keeps float32 weights"
    assert models["bfloat16"](expert).mean() - models["bfloat16"](agent).mean() > before + 0.1
    with pytest.raises(LitIRLError, match="compute_dtype must be float32 or bfloat16"):
        RewardConfig(compute_dtype="float16")
