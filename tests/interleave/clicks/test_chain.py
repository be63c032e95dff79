"""The cascade-family engine against brute force: for random parameters and clicks, the likelihood,
the click probabilities and the EM posterior equal sums over every hidden examination path."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from interleave.clicks import _chain

probability = st.floats(0.01, 0.99)
certain_or_not = st.one_of(probability, st.sampled_from([0.0, 1.0]))


@st.composite
def sessions(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    k = draw(st.integers(1, 6))
    attr = np.array(draw(st.lists(probability, min_size=k, max_size=k)))
    cont_click = np.array(draw(st.lists(certain_or_not, min_size=k, max_size=k)))
    cont_skip = np.array(draw(st.lists(certain_or_not, min_size=k, max_size=k)))
    clicks = np.array(draw(st.lists(st.booleans(), min_size=k, max_size=k)))
    return attr, cont_click, cont_skip, clicks


def joint(attr, cont_click, cont_skip, clicks) -> np.ndarray:
    """P(clicks, exactly the top m ranks examined) for m = 0..k, by walking each path."""
    k = len(attr)
    out = np.zeros(k + 1)
    for m in range(1, k + 1):
        if clicks[m:].any():
            continue  # an unexamined rank is never clicked
        p = 1.0
        for r in range(m):
            p *= attr[r] if clicks[r] else 1 - attr[r]
            go = cont_click[r] if clicks[r] else cont_skip[r]
            p *= go if r < m - 1 else (1 - go if m < k else 1.0)
        out[m] = p
    return out


@given(sessions())
def test_the_conditional_chain_multiplies_to_the_probability_of_the_clicks(session) -> None:
    attr, cc, cs, clicks = session
    conditional = _chain.conditional(attr[None], cc[None], cs[None], clicks[None])[0]
    np.testing.assert_allclose(np.prod(conditional), joint(attr, cc, cs, clicks).sum(), atol=1e-12)


@given(sessions())
def test_click_probabilities_are_the_marginals_of_the_click_law(session) -> None:
    attr, cc, cs, _ = session
    k = len(attr)
    patterns = np.array(np.meshgrid(*[[False, True]] * k, indexing="ij")).reshape(k, -1).T
    weights = np.array([joint(attr, cc, cs, p).sum() for p in patterns])
    np.testing.assert_allclose(weights.sum(), 1.0, atol=1e-12)
    np.testing.assert_allclose(
        weights @ patterns, _chain.probabilities(attr[None], cc[None], cs[None])[0], atol=1e-12
    )


@given(sessions())
def test_the_posterior_examination_is_the_brute_force_posterior(session) -> None:
    attr, cc, cs, clicks = session
    paths = joint(attr, cc, cs, clicks)
    total = paths.sum()
    if total < 1e-12:
        return  # an impossible click pattern has no posterior
    k = len(attr)
    expected = np.array([paths[r + 1 :].sum() / total for r in range(k)])
    posterior = _chain.posterior(attr[None], cc[None], cs[None], clicks[None])
    np.testing.assert_allclose(posterior.exam[0], expected, atol=1e-9)
    last = int(np.flatnonzero(clicks).max()) if clicks.any() else -1
    assert posterior.last[0] == last


@given(sessions(), st.integers(0, 2**32 - 1))
def test_single_uniform_sampling_draws_from_the_click_law(session, seed: int) -> None:
    # Every sampled pattern has positive probability (impossible ones would betray a wrong
    # threshold); the law itself is checked by chi-square in test_models.py.
    attr, cc, cs, _ = session
    clicks = _chain.simulate(attr[None].repeat(200, 0), cc, cs, np.random.default_rng(seed))
    for pattern in np.unique(clicks, axis=0):
        assert joint(attr, cc, cs, pattern).sum() > 0
