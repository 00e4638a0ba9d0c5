"""Stage two as the average of the fold networks, exported as one network."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from classifier.training import _averaged_layers


def _scores(layers: tuple[tuple[np.ndarray, np.ndarray], ...], features: np.ndarray) -> np.ndarray:
    hidden = features
    for weights, bias in layers[:-1]:
        hidden = np.maximum(hidden @ weights + bias, 0.0)
    weights, bias = layers[-1]
    return hidden @ weights + bias


@pytest.mark.parametrize("sizes", [(5, 3), (5, 4, 3), (5, 4, 6, 3)])
def test_the_averaged_network_scores_the_mean_of_its_members(sizes: tuple[int, ...]) -> None:
    generator = np.random.default_rng(7)
    members = [
        tuple(
            (generator.normal(size=(fan_in, fan_out)), generator.normal(size=fan_out))
            for fan_in, fan_out in itertools.pairwise(sizes)
        )
        for _ in range(3)
    ]
    features = generator.normal(size=(20, sizes[0]))
    expected = np.mean([_scores(member, features) for member in members], axis=0)
    averaged = _averaged_layers(members)
    assert len(averaged) == len(sizes) - 1
    np.testing.assert_allclose(_scores(averaged, features), expected, rtol=0, atol=1e-12)
