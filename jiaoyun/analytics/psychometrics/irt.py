"""Unidimensional IRT by marginal maximum likelihood (Bock-Aitkin EM, Gauss-Hermite quadrature).

One kernel covers the models an exam needs: the generalised partial credit model (GPCM) for
partial-credit items, of which the 2PL is the two-category case, and the Rasch / 1PL family with
a common slope. Parameterisation (as R's mirt and the `mirt` PyPI package report it):

    P(X = k | theta) ∝ exp(sum_{v<=k} a (theta - b_v)),  k = 0..K-1      (2PL: one b)

Internally each item is fitted in slope-intercept form z_k = k a theta + d_k (d_0 = 0), in
which the M-step's expected complete-data log-likelihood is concave, so batched Newton steps
are safe. theta ~ N(0, 1) identifies 2PL/GPCM; for "rasch" the slopes are 1 and the latent
variance is estimated instead; "1pl" fixes both at 1 (mirt's "1PL").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import logsumexp, roots_hermite

MODELS = ("rasch", "1pl", "2pl", "gpcm")


def gauss_hermite_normal(n_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights integrating against N(0, 1)."""
    x, w = roots_hermite(n_points)
    return x * np.sqrt(2.0), w / np.sqrt(np.pi)


@dataclass
class IrtFit:
    model: str
    slopes: np.ndarray  # (J,)
    intercepts: np.ndarray  # (J, K-1) d_1..d_{K-1}, NaN beyond an item's categories
    n_categories: np.ndarray  # (J,)
    latent_sd: float
    log_likelihood: float
    n_iterations: int
    converged: bool
    slope_se: np.ndarray | None = None
    difficulty_se: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    @property
    def difficulties(self) -> np.ndarray:
        """b_v = -(d_v - d_{v-1}) / a: the step difficulties (one column for dichotomous items)."""
        d = np.concatenate([np.zeros((len(self.slopes), 1)), self.intercepts], axis=1)
        return -np.diff(d, axis=1) / self.slopes[:, None]

    def category_probabilities(self, theta: np.ndarray) -> np.ndarray:
        """(J, len(theta), Kmax); zero beyond an item's categories."""
        return _probabilities(self.slopes, self.intercepts, self.n_categories, np.asarray(theta, float))

    def expected_scores(self, theta: np.ndarray) -> np.ndarray:
        p = self.category_probabilities(theta)
        return (p * np.arange(p.shape[2])).sum(axis=2)

    def item_information(self, theta: np.ndarray) -> np.ndarray:
        """(J, len(theta)): a^2 Var(X | theta), Fisher information of an exponential-family item."""
        p = self.category_probabilities(theta)
        k = np.arange(p.shape[2])
        mean = (p * k).sum(axis=2)
        var = (p * k**2).sum(axis=2) - mean**2
        return self.slopes[:, None] ** 2 * var

    def test_information(self, theta: np.ndarray) -> np.ndarray:
        return self.item_information(theta).sum(axis=0)


def _probabilities(a: np.ndarray, d: np.ndarray, n_cat: np.ndarray, theta: np.ndarray) -> np.ndarray:
    kmax = d.shape[1] + 1
    k = np.arange(kmax)
    dd = np.concatenate([np.zeros((len(a), 1)), np.nan_to_num(d)], axis=1)
    z = k[None, None, :] * a[:, None, None] * theta[None, :, None] + dd[:, None, :]
    z = np.where(k[None, None, :] < n_cat[:, None, None], z, -np.inf)
    z -= z.max(axis=2, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=2, keepdims=True)


def _posterior(joint: np.ndarray) -> np.ndarray:
    """Row-normalised exp(joint), in place (scipy's logsumexp is several times slower here)."""
    joint -= joint.max(axis=1, keepdims=True)
    np.exp(joint, out=joint)
    joint /= joint.sum(axis=1, keepdims=True)
    return joint


@dataclass
class _Layout:
    """Column layout of the one-hot response matrix: item j owns columns start[j]..start[j]+K_j."""

    n_cat: np.ndarray
    start: np.ndarray
    onehot: np.ndarray  # (n, sum K) float
    observed: np.ndarray  # (n, J) bool


def _layout(responses: np.ndarray, n_categories: np.ndarray | None) -> _Layout:
    y = np.asarray(responses)
    observed = y >= 0
    n_cat = (
        np.maximum(y.max(axis=0, initial=0) + 1, 2) if n_categories is None else np.asarray(n_categories)
    ).astype(np.int64)
    start = np.r_[0, np.cumsum(n_cat)[:-1]]
    onehot = np.zeros((y.shape[0], int(n_cat.sum())))
    for j in range(y.shape[1]):
        block = onehot[:, start[j] : start[j] + n_cat[j]]
        for c in range(n_cat[j]):
            block[:, c] = y[:, j] == c
    return _Layout(n_cat, start, onehot, observed)


def _flat(p: np.ndarray, layout: _Layout) -> np.ndarray:
    """(J, Q, Kmax) -> (sum K, Q) matching the one-hot columns."""
    return np.concatenate([p[j, :, : layout.n_cat[j]].T for j in range(len(layout.n_cat))], axis=0)


def _unflat(r: np.ndarray, layout: _Layout, kmax: int) -> np.ndarray:
    """(sum K, Q) -> (J, Q, Kmax) with zeros beyond each item's categories."""
    out = np.zeros((len(layout.n_cat), r.shape[1], kmax))
    for j, (s, k) in enumerate(zip(layout.start, layout.n_cat, strict=True)):
        out[j, :, :k] = r[s : s + k].T
    return out


def _m_step(
    r: np.ndarray,
    a: np.ndarray,
    d: np.ndarray,
    n_cat: np.ndarray,
    theta: np.ndarray,
    free_slope: bool,
    newton_steps: int = 4,
) -> tuple[np.ndarray, np.ndarray]:
    """Maximise sum_q sum_k r_jqk log P_jk(theta_q) item by item, all items at once."""
    n_items, _, kmax = r.shape
    k = np.arange(kmax)
    valid = k[None, :] < n_cat[:, None]  # (J, K)
    n_q = r.sum(axis=2)  # (J, Q)
    # design vector of category k at node q: [k theta_q, e_1..e_{K-1}] (slope first)
    n_par = kmax if free_slope else kmax - 1
    design = np.zeros((len(theta), kmax, n_par))
    if free_slope:
        design[:, :, 0] = k[None, :] * theta[:, None]
    design[:, 1:, n_par - (kmax - 1) :] = np.eye(kmax - 1)[None]

    def objective(a_, d_):
        p = _probabilities(a_, d_, n_cat, theta)
        return (r * np.log(np.where(p > 0, p, 1.0))).sum(axis=(1, 2))

    current = objective(a, d)
    for _ in range(newton_steps):
        p = _probabilities(a, d, n_cat, theta)  # (J, Q, K)
        resid = r - n_q[:, :, None] * p
        grad = np.einsum("jqk,qkp->jp", resid, design)
        mean = np.einsum("jqk,qkp->jqp", p, design)
        second = np.einsum("jqk,qkp,qkr->jqpr", p, design, design)
        info = np.einsum("jq,jqpr->jpr", n_q, second - mean[:, :, :, None] * mean[:, :, None, :])
        # Parameters of categories an item does not have: keep them inert.
        pad = np.ones((n_items, n_par), dtype=bool)
        pad[:, n_par - (kmax - 1) :] = ~valid[:, 1:]
        if free_slope:
            pad[:, 0] = False
        info[pad] = 0.0
        idx = np.nonzero(pad)
        info[idx[0], idx[1], idx[1]] = 1.0
        grad[pad] = 0.0
        step = np.linalg.solve(info + 1e-10 * np.eye(n_par), grad[:, :, None])[:, :, 0]
        # Halve any item's step that lowers its objective (rare: far from the optimum).
        scale = np.ones(n_items)
        for _halving in range(8):
            a_new = a + scale * step[:, 0] if free_slope else a
            d_new = d + scale[:, None] * step[:, n_par - (kmax - 1) :]
            d_new = np.where(valid[:, 1:], d_new, np.nan)
            new = objective(a_new, d_new)
            worse = new < current - 1e-12
            if not worse.any():
                break
            scale = np.where(worse, scale / 2, scale)
        a, d, current = a_new, d_new, new
        if np.abs(step).max() < 1e-8:
            break
    return a, d


def fit(
    responses: np.ndarray,
    model: str = "2pl",
    *,
    n_categories: np.ndarray | None = None,
    n_quadrature: int = 21,
    max_iter: int = 500,
    tol: float = 1e-4,
    standard_errors: bool = True,
) -> IrtFit:
    """Calibrate items by MML-EM. `responses`: (n, J) int, category 0..K-1, negative = missing.

    For "2pl" and "gpcm" every item gets its own slope (dichotomous items are 2PL, polytomous
    ones GPCM, so a mixed test is one call); "rasch" and "1pl" fix the slopes at 1.
    Convergence: the largest change of any slope or intercept below `tol` (mirt's rule).
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}")
    y = np.asarray(responses)
    layout = _layout(y, n_categories)
    n_cat = layout.n_cat
    n_items = len(n_cat)
    kmax = int(n_cat.max())
    free_slope = model in ("2pl", "gpcm")
    z, w = gauss_hermite_normal(n_quadrature)
    log_w = np.log(w)
    sd = 1.0
    # Start at a = 1 and intercepts from the observed category proportions.
    counts = np.stack([((y == c) & layout.observed).sum(axis=0) for c in range(kmax)], axis=1).astype(float)
    d = np.log((counts[:, 1:] + 0.5) / (counts[:, :1] + 0.5))
    d = np.where(np.arange(1, kmax)[None, :] < n_cat[:, None], d, np.nan)
    a = np.ones(n_items)
    converged = False
    iteration = 0
    for iteration in range(1, max_iter + 1):  # noqa: B007
        theta = sd * z
        log_p = np.log(_flat(_probabilities(a, d, n_cat, theta), layout))
        post = _posterior(layout.onehot @ log_p + log_w)
        r = _unflat(layout.onehot.T @ post, layout, kmax)
        a_new, d_new = _m_step(r, a, d, n_cat, theta, free_slope)
        change = max(np.abs(a_new - a).max(), np.nanmax(np.abs(d_new - d)))
        if model == "rasch":
            new_sd = float(np.sqrt((post.sum(axis=0) * z**2).sum() / post.shape[0]) * sd)
            change = max(change, abs(new_sd - sd))
            sd = new_sd
        a, d = a_new, d_new
        if change < tol:
            converged = True
            break
    theta = sd * z
    log_p = np.log(_flat(_probabilities(a, d, n_cat, theta), layout))
    joint = layout.onehot @ log_p + log_w
    lse = logsumexp(joint, axis=1, keepdims=True)
    result = IrtFit(
        model=model,
        slopes=a,
        intercepts=d,
        n_categories=n_cat,
        latent_sd=sd,
        log_likelihood=float(lse.sum()),
        n_iterations=iteration,
        converged=converged,
    )
    if standard_errors:
        post = np.exp(joint - lse)
        _cross_product_se(result, layout, post, theta, free_slope)
    return result


def _cross_product_se(
    fit_: IrtFit, layout: _Layout, post: np.ndarray, theta: np.ndarray, free_slope: bool
) -> None:
    """Standard errors from the cross-product of person score vectors (XPD), then the delta method
    from (a, d) to (a, b). With a = 1 fixed only the difficulties get one."""
    a, d, n_cat = fit_.slopes, fit_.intercepts, layout.n_cat
    p = _probabilities(a, d, n_cat, theta)  # (J, Q, K)
    kmax = p.shape[2]
    p_bar = post @ _flat(p, layout).T  # (n, sum K): E over the posterior of P(category)
    columns, owners = [], []
    if free_slope:
        expected_k = (p * np.arange(kmax)).sum(axis=2)  # (J, Q)
        observed_k = np.zeros((post.shape[0], len(a)))
        for j in range(len(a)):
            cats = layout.onehot[:, layout.start[j] : layout.start[j] + n_cat[j]]
            observed_k[:, j] = cats @ np.arange(n_cat[j])
        theta_bar = post @ theta
        score_a = observed_k * theta_bar[:, None] - post @ (theta[:, None] * expected_k.T)
        score_a = np.where(layout.observed, score_a, 0.0)
    for j in range(len(a)):
        if free_slope:
            columns.append(score_a[:, j])
            owners.append((j, "a", 0))
        for c in range(1, n_cat[j]):
            col = layout.start[j] + c
            columns.append(np.where(layout.observed[:, j], layout.onehot[:, col] - p_bar[:, col], 0.0))
            owners.append((j, "d", c))
    g = np.stack(columns, axis=1)
    info = g.T @ g
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return
    index = {o: i for i, o in enumerate(owners)}
    slope_se = np.full(len(a), np.nan)
    b_se = np.full(d.shape, np.nan)
    for j in range(len(a)):
        if free_slope:
            slope_se[j] = np.sqrt(cov[index[(j, "a", 0)], index[(j, "a", 0)]])
        for c in range(1, n_cat[j]):
            # b_c = -(d_c - d_{c-1}) / a; gradient w.r.t. (a, d_c, d_{c-1})
            d_prev = d[j, c - 2] if c > 1 else 0.0
            grad, pos = [], []
            if free_slope:
                grad.append((d[j, c - 1] - d_prev) / a[j] ** 2)
                pos.append(index[(j, "a", 0)])
            grad.append(-1.0 / a[j])
            pos.append(index[(j, "d", c)])
            if c > 1:
                grad.append(1.0 / a[j])
                pos.append(index[(j, "d", c - 1)])
            gvec = np.array(grad)
            b_se[j, c - 1] = np.sqrt(gvec @ cov[np.ix_(pos, pos)] @ gvec)
    fit_.slope_se = slope_se
    fit_.difficulty_se = b_se


@dataclass
class Abilities:
    theta: np.ndarray
    se: np.ndarray


def _person_loglik(fit_: IrtFit, responses: np.ndarray, theta: np.ndarray) -> np.ndarray:
    layout = _layout(responses, fit_.n_categories)
    log_p = np.log(_flat(fit_.category_probabilities(theta), layout))
    return layout.onehot @ log_p  # (n, len(theta))


def eap(fit_: IrtFit, responses: np.ndarray, *, n_quadrature: int = 61) -> Abilities:
    """Posterior mean and SD of theta under the fitted N(0, latent_sd^2) prior."""
    z, w = gauss_hermite_normal(n_quadrature)
    theta = fit_.latent_sd * z
    joint = _person_loglik(fit_, responses, theta) + np.log(w)
    post = np.exp(joint - logsumexp(joint, axis=1, keepdims=True))
    mean = post @ theta
    var = post @ theta**2 - mean**2
    return Abilities(mean, np.sqrt(np.clip(var, 0, None)))


def map_estimate(
    fit_: IrtFit, responses: np.ndarray, *, max_iter: int = 50, bounds: float = 6.0
) -> Abilities:
    """Posterior mode by Newton's method; SE = 1/sqrt(test information + prior precision)."""
    y = np.asarray(responses)
    observed = y >= 0
    y0 = np.where(observed, y, 0)
    prior_precision = 1.0 / fit_.latent_sd**2
    theta = eap(fit_, y, n_quadrature=31).theta
    kmax = int(fit_.n_categories.max())
    k = np.arange(kmax)
    for _ in range(max_iter):
        p = fit_.category_probabilities(theta)  # (J, n, K)
        mean = (p * k).sum(axis=2).T  # (n, J)
        var = (p * k**2).sum(axis=2).T - mean**2
        grad = (np.where(observed, fit_.slopes * (y0 - mean), 0.0)).sum(axis=1) - theta * prior_precision
        info = (np.where(observed, fit_.slopes**2 * var, 0.0)).sum(axis=1) + prior_precision
        step = grad / info
        theta = np.clip(theta + step, -bounds, bounds)
        if np.abs(step).max() < 1e-6:
            break
    p = fit_.category_probabilities(theta)
    mean = (p * k).sum(axis=2).T
    var = (p * k**2).sum(axis=2).T - mean**2
    info = (np.where(observed, fit_.slopes**2 * var, 0.0)).sum(axis=1) + prior_precision
    return Abilities(theta, 1.0 / np.sqrt(info))


def item_fit(fit_: IrtFit, responses: np.ndarray, theta: np.ndarray) -> dict[str, np.ndarray]:
    """Outfit and infit mean squares (Wright & Masters) at the given abilities.

    outfit_j = mean_i z_ij^2 with z = (x - E) / sqrt(Var); infit_j = sum (x - E)^2 / sum Var.
    Both are 1 in expectation for a fitting item; above ~1.3 the item is noisier than the model.
    """
    y = np.asarray(responses)
    observed = y >= 0
    p = fit_.category_probabilities(np.asarray(theta, float))
    k = np.arange(p.shape[2])
    mean = (p * k).sum(axis=2).T
    var = (p * k**2).sum(axis=2).T - mean**2
    sq = np.where(observed, (y - mean) ** 2, 0.0)
    v = np.where(observed, var, 0.0)
    n = observed.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        outfit = np.where(observed, sq / var, 0.0).sum(axis=0) / n
        infit = sq.sum(axis=0) / v.sum(axis=0)
    return {"outfit": outfit, "infit": infit}
