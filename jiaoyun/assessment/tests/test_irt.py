"""IRT kernels: parameter recovery on seeded simulations, and agreement with the reference
implementations (the `mirt` package's EM, girth's 1PL MML) on the same data.

Tolerances: recovery within 0.3 on slopes and difficulties (sampling error at n = 3000);
mirt agreement within 0.01 on parameters (both stop at a parameter change of 1e-4, so they
differ by about that much times the EM rate), 0.005 on abilities.
"""

import numpy as np
import pytest

from jiaoyun.analytics.psychometrics import irt

mirt = pytest.importorskip("mirt")


def simulate_2pl(n, a, b, seed):
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=n)
    p = 1 / (1 + np.exp(-a * (theta[:, None] - b)))
    return (rng.random(p.shape) < p).astype(int), theta


def simulate_gpcm(n, a, steps, seed):
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=n)
    z = np.concatenate(
        [
            np.zeros((len(a), n, 1)),
            np.cumsum(a[:, None, None] * (theta[None, :, None] - steps[:, None, :]), axis=2),
        ],
        axis=2,
    )
    p = np.exp(z - z.max(axis=2, keepdims=True))
    p /= p.sum(axis=2, keepdims=True)
    u = rng.random((len(a), n, 1))
    return (u > np.cumsum(p, axis=2)).sum(axis=2).T, theta


A = np.array([0.8, 1.2, 1.6, 2.0, 1.0, 1.4])
B = np.array([-1.5, -0.5, 0.0, 0.5, 1.0, 1.5])


@pytest.fixture(scope="module")
def dichotomous():
    return simulate_2pl(3000, A, B, seed=11)


def test_2pl_recovers_parameters_and_matches_mirt(dichotomous):
    x, _ = dichotomous
    ours = irt.fit(x, "2pl")
    assert ours.converged
    assert np.abs(ours.slopes - A).max() < 0.3
    assert np.abs(ours.difficulties[:, 0] - B).max() < 0.3
    ref = mirt.fit_mirt(x, model="2PL")
    assert ours.slopes == pytest.approx(ref.model.parameters["discrimination"], abs=0.01)
    assert ours.difficulties[:, 0] == pytest.approx(ref.model.parameters["difficulty"], abs=0.01)
    assert ours.log_likelihood == pytest.approx(ref.log_likelihood, abs=0.05)
    # Standard errors: cross-product information here, Oakes' observed information in mirt.
    ref_se = ref.standard_errors
    assert ours.slope_se == pytest.approx(ref_se["discrimination"], rel=0.15)
    assert ours.difficulty_se[:, 0] == pytest.approx(ref_se["difficulty"], rel=0.15)


def test_1pl_matches_mirt_and_rasch_matches_girth(dichotomous):
    x, _ = dichotomous
    ours = irt.fit(x, "1pl")
    ref = mirt.fit_mirt(x, model="1PL")
    assert ours.difficulties[:, 0] == pytest.approx(ref.model.parameters["difficulty"], abs=0.01)
    rasch = irt.fit(x, "rasch", standard_errors=False)
    # Rasch with estimated latent SD s is girth's 1PL with common slope s and difficulty b/s.
    girth = pytest.importorskip("girth")
    g = girth.onepl_mml(x.T)
    assert rasch.latent_sd == pytest.approx(g["Discrimination"], abs=0.03)
    assert rasch.difficulties[:, 0] / rasch.latent_sd == pytest.approx(g["Difficulty"], abs=0.03)


def test_gpcm_mixed_with_2pl_recovers_and_matches_mirt():
    a = np.array([0.9, 1.3, 1.7, 1.1])
    steps = np.array([[-1.0, 0.2, 1.0], [-0.5, 0.5, 1.5], [-1.5, -0.5, 0.5], [-0.2, 0.4, 1.2]])
    poly, theta = simulate_gpcm(3000, a, steps, seed=5)
    rng = np.random.default_rng(6)
    p = 1 / (1 + np.exp(-A[:3] * (theta[:, None] - B[:3])))
    dich = (rng.random(p.shape) < p).astype(int)
    x = np.concatenate([dich, poly], axis=1)
    ours = irt.fit(x, "gpcm")
    assert ours.n_categories.tolist() == [2, 2, 2, 4, 4, 4, 4]
    assert np.abs(ours.slopes[3:] - a).max() < 0.3
    assert np.abs(ours.difficulties[3:] - steps).max() < 0.35
    ref = mirt.fit_mirt(x, model=["2PL"] * 3 + ["GPCM"] * 4)
    params = ref.model.parameters
    ref_slopes = np.r_[params["2PL.discrimination"], params["GPCM.discrimination"]]
    assert ours.slopes == pytest.approx(ref_slopes, abs=0.01)
    assert ours.difficulties[3:] == pytest.approx(params["GPCM.steps"], abs=0.01)
    assert ours.difficulties[:3, 0] == pytest.approx(params["2PL.difficulty"], abs=0.01)


def test_missing_responses_are_skipped_not_scored_wrong(dichotomous):
    x, _ = dichotomous
    holes = x.copy()
    holes[::7, 2] = -1
    ours = irt.fit(holes, "2pl", standard_errors=False)
    ref = mirt.fit_mirt(holes, model="2PL", compute_standard_errors=False)
    assert ours.slopes == pytest.approx(ref.model.parameters["discrimination"], abs=0.01)


def test_eap_and_map_match_mirt(dichotomous):
    x, theta = dichotomous
    ref = mirt.fit_mirt(x, model="2PL", compute_standard_errors=False)
    ours = irt.fit(x, "2pl", standard_errors=False)
    e, m = irt.eap(ours, x), irt.map_estimate(ours, x)
    ref_e = mirt.fscores(ref, x, method="EAP")
    ref_m = mirt.fscores(ref, x, method="MAP")
    assert e.theta == pytest.approx(ref_e.theta.ravel(), abs=0.005)
    assert e.se == pytest.approx(ref_e.standard_error.ravel(), abs=0.005)
    assert m.theta == pytest.approx(ref_m.theta.ravel(), abs=0.005)
    assert m.se == pytest.approx(ref_m.standard_error.ravel(), abs=0.005)
    assert np.corrcoef(e.theta, theta)[0, 1] > 0.75


def test_information_and_probabilities_by_formula():
    fit = irt.IrtFit(
        model="gpcm",
        slopes=np.array([1.5, 0.8]),
        intercepts=np.array([[0.3, np.nan], [0.4, -0.2]]),
        n_categories=np.array([2, 3]),
        latent_sd=1.0,
        log_likelihood=0.0,
        n_iterations=0,
        converged=True,
    )
    t = np.array([-1.0, 0.5])
    p = 1 / (1 + np.exp(-(1.5 * t + 0.3)))
    # GPCM item: numerators 1, exp(.8t + .4), exp(1.6t - .2)
    e1, e2 = np.exp(0.8 * t + 0.4), np.exp(1.6 * t - 0.2)
    q = np.stack([1 / (1 + e1 + e2), e1 / (1 + e1 + e2), e2 / (1 + e1 + e2)], axis=1)
    probs = fit.category_probabilities(t)
    assert probs[0, :, 1] == pytest.approx(p, rel=1e-12)
    assert probs[1] == pytest.approx(q, rel=1e-12)
    mean = q[:, 1] + 2 * q[:, 2]
    var = q[:, 1] + 4 * q[:, 2] - mean**2
    assert fit.test_information(t) == pytest.approx(1.5**2 * p * (1 - p) + 0.8**2 * var, rel=1e-12)
    assert fit.difficulties[0, 0] == pytest.approx(-0.3 / 1.5)
    assert fit.difficulties[1] == pytest.approx([-0.4 / 0.8, (0.4 + 0.2) / 0.8])


def test_item_fit_by_formula_and_flags_a_misfitting_item(dichotomous):
    x, theta = dichotomous
    fit = irt.fit(x, "2pl", standard_errors=False)
    stats = irt.item_fit(fit, x, theta)
    p = fit.category_probabilities(theta)[:, :, 1].T
    z2 = (x - p) ** 2 / (p * (1 - p))
    assert stats["outfit"] == pytest.approx(z2.mean(axis=0), rel=1e-10)
    assert stats["infit"] == pytest.approx(((x - p) ** 2).sum(0) / (p * (1 - p)).sum(0), rel=1e-10)
    assert np.abs(stats["infit"] - 1).max() < 0.15
    # An item that the middle of the distribution gets right and both ends get wrong (a
    # miskeyed or trick item) cannot follow any monotone curve.
    noisy = x.copy()
    rng = np.random.default_rng(2)
    noisy[:, 3] = rng.random(len(x)) < np.where(np.abs(theta) < 0.7, 0.9, 0.1)
    noisy_fit = irt.fit(noisy, "2pl", standard_errors=False)
    outfit = irt.item_fit(noisy_fit, noisy, irt.eap(noisy_fit, noisy).theta)["outfit"]
    assert outfit.argmax() == 3
