"""Two-level random-intercept model against statsmodels' MixedLM on the same data.

Tolerances: variance components and fixed effects within 1e-4 relative (both optimise the same
criterion; the remaining difference is optimiser stopping), predicted intercepts within 1e-4.
"""

import numpy as np
import pytest

from jiaoyun.analytics.exams import multilevel

sm = pytest.importorskip("statsmodels.api")


@pytest.fixture(scope="module")
def schools():
    rng = np.random.default_rng(21)
    sizes = rng.integers(5, 60, size=25)
    groups = np.repeat(np.arange(25), sizes)
    u = rng.normal(0, 3.0, 25)
    # prior exam centred: statsmodels' optimiser stalls on an uncentred covariate
    prior = rng.normal(0, 10, groups.size)
    y = 66 + 0.8 * prior + u[groups] + rng.normal(0, 6.0, groups.size)
    return y, prior, groups, u


@pytest.mark.parametrize("method", ["reml", "ml"])
def test_matches_statsmodels_mixedlm(schools, method):
    y, prior, groups, _ = schools
    ours = multilevel.random_intercept(y, groups, prior[:, None], method=method)
    exog = sm.add_constant(prior)
    ref = sm.MixedLM(y, exog, groups=groups).fit(
        reml=(method == "reml")
    )  # its lbfgs default stalls at tau2 = 0 here
    assert ours.beta == pytest.approx(ref.fe_params, rel=1e-4)
    assert ours.tau2 == pytest.approx(float(np.asarray(ref.cov_re)[0, 0]), rel=2e-4)
    assert ours.sigma2 == pytest.approx(ref.scale, rel=1e-4)
    assert ours.log_likelihood >= ref.llf - 1e-6  # ours is at least as high: no worse an optimum
    assert ours.beta_se == pytest.approx(ref.bse_fe, rel=1e-3)
    ref_blup = np.array([ref.random_effects[g].iloc[0] for g in ours.group_ids])
    assert ours.blup == pytest.approx(ref_blup, rel=1e-4, abs=1e-4)


def test_icc_and_value_added_calls(schools):
    y, prior, groups, u = schools
    null = multilevel.between_unit_difference(y, groups)
    assert null["icc"] == pytest.approx(
        null["between_variance"] / (null["between_variance"] + null["within_variance"])
    )
    fit, rows = multilevel.value_added(y, prior, groups)
    # 95% intervals: with 25 schools, at most a few may miss the true effect
    covered = [r["low"] <= t <= r["high"] for r, t in zip(rows, u, strict=True)]
    assert sum(covered) >= 21
    wrong_sign = [
        r
        for r, t in zip(rows, u, strict=True)
        if (r["call"] == "above") != (t > 0) and r["call"] != "not distinguishable"
    ]
    assert len(wrong_sign) <= 1
    assert {r["call"] for r in rows} >= {"above", "below"}
    assert np.corrcoef(fit.blup, u)[0, 1] > 0.9


def test_mean_and_spread_by_hand():
    rows = multilevel.unit_mean_and_spread(np.array([1.0, 3, 5, 10]), np.array(["a", "a", "a", "b"]))
    assert rows == [
        {"unit_id": "a", "count": 3, "mean": 3.0, "sd": 2.0},
        {"unit_id": "b", "count": 1, "mean": 10.0, "sd": None},
    ]
