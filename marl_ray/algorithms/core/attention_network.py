"""`attention_comm` on our multi-agent core: the policy network of `policy_network.py` whose
actor and critic read the agent's own observation and the other agents' (learned
communication), as RLlib's `attention_comm` module does.

Rows arrive in the flat peers layout (`envs.observation_views.rows_with_peers`): the agent's
core row, every peer's core row, the peers' presence. Own and peer observations share one
embedding; the agent's embedding attends (multi-head) over itself and the present peers
(absent peers are masked out, so what their rows hold never matters); the trunk reads the
embedding joined with the attended message, and the policy and value heads share it.
Action masks are read from the agent's own part of the row, as in `PolicyNetwork`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from marl_ray.algorithms.core.networks import ACTIVATIONS
from marl_ray.algorithms.core.policy_network import PolicyNetwork


class AttentionPolicyNetwork(PolicyNetwork):
    reads_peers = True

    def __init__(self, layout, action_space, state_size, config, num_agents: int):
        nn.Module.__init__(self)  # not PolicyNetwork's: no MLP actor and critic to build
        out = self._set_up_rows_and_actions(layout, action_space, config)
        self.global_state = False  # samplers ask whether to fetch state(): never needed
        self.row_width = len(layout.obs_index) + len(layout.mask_index)
        self.num_peers = num_agents - 1
        obs_size = len(layout.obs_index)
        act = ACTIVATIONS[config.activation]
        self.embed = nn.Sequential(nn.Linear(obs_size, config.embed_size), act())
        self.attention = nn.MultiheadAttention(
            config.embed_size, config.num_heads, batch_first=True
        )
        layers, size = [], 2 * config.embed_size
        for hidden in config.hidden_sizes:
            layers += [nn.Linear(size, hidden), act()]
            size = hidden
        self.trunk = nn.Sequential(*layers)
        self.pi_head = nn.Linear(size, out)
        self.value_head = nn.Linear(size, 1)
        for module in (*self.embed, *self.trunk):
            if isinstance(module, nn.Linear):
                nn.init.orthogonal_(module.weight, np.sqrt(2))
                nn.init.zeros_(module.bias)
        nn.init.orthogonal_(self.pi_head.weight, 0.01)
        nn.init.orthogonal_(self.value_head.weight, 1.0)
        for head in (self.pi_head, self.value_head):
            nn.init.zeros_(head.bias)

    def features(self, rows: torch.Tensor) -> torch.Tensor:
        """`[N, H]`: the trunk's output for rows in the peers layout."""
        rows = rows.flatten(1)
        d, p = self.row_width, self.num_peers
        own = self.embed(rows[:, self.obs_index])  # [N, E]
        peer_rows = rows[:, d : d + p * d].reshape(-1, p, d)
        peers = self.embed(peer_rows[..., self.obs_index])  # [N, P, E]
        absent = rows[:, d + p * d :] < 0.5
        keys = torch.cat([own[:, None], peers], dim=1)
        ignore = torch.cat([torch.zeros_like(absent[:, :1]), absent], dim=1)  # self kept
        message, _ = self.attention(own[:, None], keys, keys, key_padding_mask=ignore)
        return self.trunk(torch.cat([own, message[:, 0]], dim=-1))

    def policy(self, rows: torch.Tensor) -> torch.Tensor:
        return self._head(rows, self.pi_head(self.features(rows)))

    def value(self, rows: torch.Tensor, state: torch.Tensor | None = None) -> torch.Tensor:
        return self.value_head(self.features(rows)).squeeze(-1)

    def forward(self, rows: torch.Tensor, state: torch.Tensor | None = None):
        features = self.features(rows)
        return self._head(rows, self.pi_head(features)), self.value_head(features).squeeze(-1)
