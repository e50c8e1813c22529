"""The memory floor estimated from a composed configuration, before the run folder exists."""

from __future__ import annotations

from omegaconf import OmegaConf

from deepinn.app._memory import estimate_memory


def _weights(net: dict) -> int:
    cfg = OmegaConf.create({"dtype": "float32", "problem": {"n_interior": 10}, "net": net})
    (part,) = [p for p in estimate_memory(cfg, dim=2).parts if p.name.startswith("network")]
    return part.size


def test_an_mlp_s_weights_follow_its_hidden_layers():
    # (2+1)*8 + (8+1)*8 + (8+1)*1 = 105 parameters, four float32 copies
    assert _weights({"hidden": [8, 8]}) == 105 * 4 * 4


def test_a_network_given_by_width_and_blocks_is_counted_by_its_layers():
    # a PirateNet-like network: three dense layers a block plus the embedding
    assert _weights({"width": 64, "blocks": 3}) > _weights({"hidden": [64] * 9})
    assert _weights({"width": 64, "blocks": 3}) > 100 * _weights({"hidden": []})
