"""Parameter server: exact optimiser steps, staleness bound, checkpoint round trip."""

from __future__ import annotations

import copy

import gymnasium as gym
import numpy as np
import pytest
import torch

from marl_ray.algorithms.checkpoint import load_state, save_state
from marl_ray.algorithms.core.networks import build_actor_critic
from marl_ray.algorithms.core.parameter_server import ParameterServer


def _net():
    torch.manual_seed(0)
    return build_actor_critic(gym.spaces.Box(-1, 1, (4,)), gym.spaces.Discrete(3))


def _grads(net, seed):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=p.shape).astype(np.float32) for p in net.parameters()]


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_a_pushed_gradient_changes_weights_exactly_as_the_optimiser_says(optimizer):
    net = _net()
    reference = copy.deepcopy(net)
    server = ParameterServer(net, optimizer=optimizer, lr=0.01)
    grads = _grads(net, 1)
    assert server.apply_gradients(grads, version=0)
    opt = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop}[optimizer]
    ref_opt = opt(reference.parameters(), lr=0.01)
    for p, g in zip(reference.parameters(), grads, strict=True):
        p.grad = torch.as_tensor(g)
    ref_opt.step()
    version, weights = server.get_weights()
    assert version == 1
    for name, value in reference.state_dict().items():
        np.testing.assert_array_equal(weights[name], value.numpy())


def test_stale_gradients_are_dropped_and_counted():
    server = ParameterServer(_net(), max_staleness=2)
    for v in range(3):
        assert server.apply_gradients(_grads(server.net, v), version=v)
    before = server.get_weights()[1]
    assert server.apply_gradients(_grads(server.net, 9), version=1)  # 3 - 1 = 2: allowed
    assert not server.apply_gradients(_grads(server.net, 9), version=1)  # 4 - 1 = 3: stale
    assert server.dropped_stale == 1 and server.applied == 4 and server.version == 4
    after = server.get_weights()[1]
    assert any(not np.array_equal(before[k], after[k]) for k in before)


def test_checkpoint_round_trip_restores_weights_and_optimiser(tmp_path):
    server = ParameterServer(_net(), lr=0.01)
    for v in range(5):
        server.apply_gradients(_grads(server.net, v), version=v)
    save_state(tmp_path, {"parameter_server": server.state_dict()})
    restored = ParameterServer(_net(), lr=0.01)
    restored.load_state_dict(load_state(tmp_path)["parameter_server"])
    assert restored.version == 5 and restored.applied == 5
    # Identical weights now, and identical after one more step: the optimiser state matches.
    for s in (server, restored):
        s.apply_gradients(_grads(s.net, 42), version=5)
    a, b = server.get_weights()[1], restored.get_weights()[1]
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind
