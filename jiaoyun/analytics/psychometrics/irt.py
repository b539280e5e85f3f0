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
from scipy.special import roots_hermite

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
    """Row-normalised exp(joint), in place; returns the rows' log normalisers (scipy's logsumexp
    is several times slower here)."""
    top = joint.max(axis=1, keepdims=True)
    joint -= top
    np.exp(joint, out=joint)
    total = joint.sum(axis=1, keepdims=True)
    joint /= total
    return (top + np.log(total))[:, 0]


@dataclass
class _Layout:
    """The responses as the E-step needs them.

    In slope-intercept form log P(X_j = k | theta) = k a_j theta + d_jk - L_j(theta), so a
    person's log-likelihood at theta is theta * sum_j a_j y_j + sum_j d_{j,y_j} - sum_j L_j(theta)
    over the items they answered: one weighted score per person and one n x J product (none when
    nobody skipped an item) replace an n x (sum K) product per EM iteration. The one-hot matrix of
    the categories above 0 is kept for the expected counts.
    """

    n_cat: np.ndarray
    start: np.ndarray  # item j owns columns start[j] .. start[j] + K_j - 2 of `positive`
    column_item: np.ndarray  # (sum (K - 1),) item of each column of `positive`
    column_category: np.ndarray  # (sum (K - 1),) category (1..K-1) of each column
    positive: np.ndarray  # (n, sum (K - 1)) float one-hot of the categories above 0
    observed: np.ndarray  # (n, J) bool
    observed_float: np.ndarray | None  # (n, J) float, None when every response is observed
    scores: np.ndarray  # (n, J) float: the category, 0 where missing


def _layout(responses: np.ndarray, n_categories: np.ndarray | None) -> _Layout:
    y = np.asarray(responses)
    observed = y >= 0
    n_cat = (
        np.maximum(y.max(axis=0, initial=0) + 1, 2) if n_categories is None else np.asarray(n_categories)
    ).astype(np.int64)
    n_pos = n_cat - 1
    start = np.r_[0, np.cumsum(n_pos)[:-1]].astype(np.int64)
    column_item = np.repeat(np.arange(len(n_cat)), n_pos)
    column_category = np.arange(int(n_pos.sum())) - start[column_item] + 1
    positive = np.zeros((y.shape[0], int(n_pos.sum())))
    rows, cols = np.nonzero((y > 0) & (y < n_cat[None, :]))
    positive[rows, start[cols] + y[rows, cols] - 1] = 1.0
    return _Layout(
        n_cat=n_cat,
        start=start,
        column_item=column_item,
        column_category=column_category,
        positive=positive,
        observed=observed,
        observed_float=None if observed.all() else observed.astype(np.float64),
        scores=np.where(observed, y, 0).astype(np.float64),
    )


def _log_normalisers(a: np.ndarray, d: np.ndarray, n_cat: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """(J, Q): L_j(theta) = log sum_k exp(k a_j theta + d_jk)."""
    kmax = d.shape[1] + 1
    k = np.arange(kmax)
    dd = np.concatenate([np.zeros((len(a), 1)), d], axis=1)
    z = k[None, None, :] * a[:, None, None] * theta[None, :, None] + dd[:, None, :]
    z = np.where(k[None, None, :] < n_cat[:, None, None], z, -np.inf)
    top = z.max(axis=2)
    return top + np.log(np.exp(z - top[:, :, None]).sum(axis=2))


def _log_likelihood_terms(
    layout: _Layout, a: np.ndarray, d: np.ndarray, theta: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(n, Q) log-likelihood of each person at each node without the per-person constant
    sum_j d_{j,y_j}, and that constant (n,)."""
    norm = _log_normalisers(a, d, layout.n_cat, theta)
    weighted = layout.scores @ a
    joint = np.multiply.outer(weighted, theta)
    if layout.observed_float is None:
        joint -= norm.sum(axis=0)[None, :]
    else:
        joint -= layout.observed_float @ norm
    constant = layout.positive @ d[layout.column_item, layout.column_category - 1]
    return joint, constant


def _expected_counts(layout: _Layout, post: np.ndarray, kmax: int) -> np.ndarray:
    """(J, Q, Kmax): expected number of people at node q in category k of item j."""
    n_items = len(layout.n_cat)
    upper = layout.positive.T @ post  # (sum (K - 1), Q)
    if layout.observed_float is None:
        per_item = np.broadcast_to(post.sum(axis=0), (n_items, post.shape[1]))
    else:
        per_item = layout.observed_float.T @ post
    r = np.zeros((n_items, kmax, post.shape[1]))
    r[layout.column_item, layout.column_category] = upper
    r[:, 0] = per_item - r[:, 1:].sum(axis=1)
    return r.transpose(0, 2, 1)


def _m_step(
    r: np.ndarray,
    a: np.ndarray,
    d: np.ndarray,
    n_cat: np.ndarray,
    theta: np.ndarray,
    free_slope: bool,
    newton_steps: int = 4,
) -> tuple[np.ndarray, np.ndarray]:
    """Maximise sum_q sum_k r_jqk log P_jk(theta_q) item by item, all items at once.

    Parameters per item: [slope (if free), d_1..d_{K-1}], with the score k theta_q for the slope
    and the indicator of category c for d_c; the information is their covariance under P, summed
    over nodes with weight n_jq (written out, as an einsum over the design is ~10x slower).
    """
    n_items, _, kmax = r.shape
    k = np.arange(kmax)
    valid = k[None, :] < n_cat[:, None]  # (J, K)
    n_q = r.sum(axis=2)  # (J, Q)
    n_par = kmax if free_slope else kmax - 1
    off = n_par - (kmax - 1)  # index of d_1
    pad = np.ones((n_items, n_par), dtype=bool)
    pad[:, off:] = ~valid[:, 1:]
    if free_slope:
        pad[:, 0] = False
    pad_index = np.nonzero(pad)
    eye = 1e-10 * np.eye(n_par)

    def objective(a_, d_):
        p = _probabilities(a_, d_, n_cat, theta)
        return (r * np.log(np.where(p > 0, p, 1.0))).sum(axis=(1, 2))

    current = objective(a, d)
    for _ in range(newton_steps):
        p = _probabilities(a, d, n_cat, theta)  # (J, Q, K)
        grad = np.zeros((n_items, n_par))
        info = np.zeros((n_items, n_par, n_par))
        pc = p[:, :, 1:]
        weighted = n_q[:, :, None] * pc
        grad[:, off:] = r[:, :, 1:].sum(axis=1) - weighted.sum(axis=1)
        info[:, off:, off:] = np.einsum("jqc,jqd->jcd", -weighted, pc)
        info[:, np.arange(off, n_par), np.arange(off, n_par)] += weighted.sum(axis=1)
        if free_slope:
            mean_k = (p * k).sum(axis=2)  # (J, Q)
            var_k = (p * (k - mean_k[:, :, None]) ** 2).sum(axis=2)
            grad[:, 0] = ((r * k).sum(axis=2) - n_q * mean_k) @ theta
            info[:, 0, 0] = (n_q * var_k) @ theta**2
            cross = np.einsum("jqc,q->jc", weighted * (k[1:] - mean_k[:, :, None]), theta)
            info[:, 0, off:] = cross
            info[:, off:, 0] = cross
        # Parameters of categories an item does not have: keep them inert.
        info[pad] = 0.0
        info[pad_index[0], pad_index[1], pad_index[1]] = 1.0
        grad[pad] = 0.0
        step = np.linalg.solve(info + eye, grad[:, :, None])[:, :, 0]
        # Halve any item's step that lowers its objective (rare: far from the optimum).
        scale = np.ones(n_items)
        for _halving in range(8):
            a_new = a + scale * step[:, 0] if free_slope else a
            d_new = d + scale[:, None] * step[:, off:]
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
    accelerate: bool = True,
) -> IrtFit:
    """Calibrate items by MML-EM. `responses`: (n, J) int, category 0..K-1, negative = missing.

    For "2pl" and "gpcm" every item gets its own slope (dichotomous items are 2PL, polytomous
    ones GPCM, so a mixed test is one call); "rasch" and "1pl" fix the slopes at 1.
    Convergence: the largest change of any slope or intercept in one EM step below `tol`
    (mirt's rule). `accelerate` extrapolates EM by SQUAREM (Varadhan & Roland 2008, scheme S3)
    with a log-likelihood check, which cuts the EM steps several-fold; the stopping rule is
    still a plain EM step, so the estimates are those of EM. `n_iterations` counts EM steps.
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}")
    y = np.asarray(responses)
    layout = _layout(y, n_categories)
    n_cat = layout.n_cat
    n_items = len(n_cat)
    kmax = int(n_cat.max())
    free_slope = model in ("2pl", "gpcm")
    estimate_sd = model == "rasch"
    z, w = gauss_hermite_normal(n_quadrature)
    log_w = np.log(w)
    # Start at a = 1 and intercepts from the observed category proportions.
    counts = np.stack([((y == c) & layout.observed).sum(axis=0) for c in range(kmax)], axis=1).astype(float)
    d = np.log((counts[:, 1:] + 0.5) / (counts[:, :1] + 0.5))
    valid_d = np.arange(1, kmax)[None, :] < n_cat[:, None]
    d = np.where(valid_d, d, np.nan)
    a = np.ones(n_items)

    # EM as a map of one parameter vector: [slopes (if free), valid intercepts, log SD (rasch)].
    def pack(a_, d_, sd_):
        parts = [a_] if free_slope else []
        parts.append(d_[valid_d])
        if estimate_sd:
            parts.append([np.log(sd_)])
        return np.concatenate(parts)

    def unpack(x):
        a_ = x[:n_items] if free_slope else np.ones(n_items)
        d_ = np.full(d.shape, np.nan)
        lo = n_items if free_slope else 0
        d_[valid_d] = x[lo : lo + int(valid_d.sum())]
        sd_ = float(np.exp(x[-1])) if estimate_sd else 1.0
        return a_, d_, sd_

    def em_step(x):
        a_, d_, sd_ = unpack(x)
        theta = sd_ * z
        joint, constant = _log_likelihood_terms(layout, a_, d_, theta)
        joint += log_w
        log_lik = float((_posterior(joint) + constant).sum())
        post = joint
        r = _expected_counts(layout, post, kmax)
        a_new, d_new = _m_step(r, a_, d_, n_cat, theta, free_slope)
        sd_new = sd_
        if estimate_sd:
            sd_new = float(np.sqrt((post.sum(axis=0) * z**2).sum() / post.shape[0]) * sd_)
        return pack(a_new, d_new, sd_new), (log_lik if np.isfinite(log_lik) else -np.inf)

    def change(x_new, x_old):
        # mirt's rule is on the SD itself, not its logarithm
        if estimate_sd:
            return max(np.abs(x_new[:-1] - x_old[:-1]).max(), abs(np.exp(x_new[-1]) - np.exp(x_old[-1])))
        return float(np.abs(x_new - x_old).max())

    x = pack(a, d, 1.0)
    converged = False
    iteration = 0
    while iteration < max_iter:
        x1, _ = em_step(x)
        iteration += 1
        if change(x1, x) < tol:
            x, converged = x1, True
            break
        if not accelerate or iteration >= max_iter:
            x = x1
            continue
        x2, log_lik_1 = em_step(x1)
        iteration += 1
        if change(x2, x1) < tol:
            x, converged = x2, True
            break
        r_ = x1 - x
        v_ = x2 - 2 * x1 + x
        alpha = -np.sqrt((r_ @ r_) / max(v_ @ v_, 1e-300))
        if alpha > -1:
            x = x2
            continue
        proposal = x - 2 * alpha * r_ + alpha**2 * v_
        # One EM step from the extrapolated point keeps it stable; keep it only if the
        # likelihood there beats the last EM iterate's (otherwise plain EM).
        x3, log_lik_3 = em_step(proposal)
        iteration += 1
        x = x3 if log_lik_3 >= log_lik_1 else x2
    a, d, sd = unpack(x)
    theta = sd * z
    joint, constant = _log_likelihood_terms(layout, a, d, theta)
    joint += log_w
    log_norm = _posterior(joint)
    result = IrtFit(
        model=model,
        slopes=a,
        intercepts=d,
        n_categories=n_cat,
        latent_sd=sd,
        log_likelihood=float((log_norm + constant).sum()),
        n_iterations=iteration,
        converged=converged,
    )
    if standard_errors:
        _cross_product_se(result, layout, joint, theta, free_slope)
    return result


def _cross_product_se(
    fit_: IrtFit, layout: _Layout, post: np.ndarray, theta: np.ndarray, free_slope: bool
) -> None:
    """Standard errors from the cross-product of person score vectors (XPD), then the delta method
    from (a, d) to (a, b). With a = 1 fixed only the difficulties get one."""
    a, d, n_cat = fit_.slopes, fit_.intercepts, layout.n_cat
    p = _probabilities(a, d, n_cat, theta)  # (J, Q, K)
    kmax = p.shape[2]
    # Score of d_jc: 1[y_j = c] - E over the posterior of P_jc(theta), zero where j is missing.
    p_upper = p[layout.column_item, :, layout.column_category]  # (sum (K - 1), Q)
    g_d = layout.positive - post @ p_upper.T
    if layout.observed_float is not None:
        g_d *= layout.observed_float[:, layout.column_item]
    blocks = [g_d]
    if free_slope:
        expected_k = (p * np.arange(kmax)).sum(axis=2)  # (J, Q)
        theta_bar = post @ theta
        score_a = layout.scores * theta_bar[:, None] - post @ (theta[:, None] * expected_k.T)
        if layout.observed_float is not None:
            score_a *= layout.observed_float
        blocks.insert(0, score_a)
    g = np.concatenate(blocks, axis=1) if len(blocks) > 1 else g_d
    info = g.T @ g
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return
    n_items = len(a)
    lo = n_items if free_slope else 0

    def d_index(j, c):
        return lo + layout.start[j] + c - 1

    slope_se = np.full(n_items, np.nan)
    b_se = np.full(d.shape, np.nan)
    for j in range(n_items):
        if free_slope:
            slope_se[j] = np.sqrt(cov[j, j])
        for c in range(1, n_cat[j]):
            # b_c = -(d_c - d_{c-1}) / a; gradient w.r.t. (a, d_c, d_{c-1})
            d_prev = d[j, c - 2] if c > 1 else 0.0
            grad, pos = [], []
            if free_slope:
                grad.append((d[j, c - 1] - d_prev) / a[j] ** 2)
                pos.append(j)
            grad.append(-1.0 / a[j])
            pos.append(d_index(j, c))
            if c > 1:
                grad.append(1.0 / a[j])
                pos.append(d_index(j, c - 1))
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
    joint, constant = _log_likelihood_terms(layout, fit_.slopes, fit_.intercepts, np.asarray(theta, float))
    return joint + constant[:, None]  # (n, len(theta))


def eap(fit_: IrtFit, responses: np.ndarray, *, n_quadrature: int = 61) -> Abilities:
    """Posterior mean and SD of theta under the fitted N(0, latent_sd^2) prior."""
    z, w = gauss_hermite_normal(n_quadrature)
    theta = fit_.latent_sd * z
    layout = _layout(responses, fit_.n_categories)
    # The per-person constant cancels in the posterior.
    post, _ = _log_likelihood_terms(layout, fit_.slopes, fit_.intercepts, theta)
    post += np.log(w)
    _posterior(post)
    mean = post @ theta
    var = post @ theta**2 - mean**2
    return Abilities(mean, np.sqrt(np.clip(var, 0, None)))


def _moments(fit_: IrtFit, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(m, J) mean and variance of each item's category at each theta.

    Items are taken in groups of equal category count, so the work is m x sum K rather than
    m x J x Kmax (a test of right/wrong items and a few 10-mark questions is mostly 2s).
    """
    theta = np.asarray(theta, dtype=np.float64)
    n_cat = fit_.n_categories
    mean = np.empty((theta.shape[0], len(n_cat)))
    var = np.empty_like(mean)
    for n_k in np.unique(n_cat):
        items = np.flatnonzero(n_cat == n_k)
        k = np.arange(n_k, dtype=np.float64)
        dd = np.concatenate([np.zeros((len(items), 1)), fit_.intercepts[items, : n_k - 1]], axis=1)
        z = np.multiply.outer(np.multiply.outer(theta, fit_.slopes[items]), k) + dd[None]
        z -= z.max(axis=2, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=2, keepdims=True)
        m = z @ k
        mean[:, items] = m
        # sum p (k - mean)^2 rather than E k^2 - mean^2: no cancellation where p is near 0 or 1
        var[:, items] = np.einsum("nik,nik->ni", z, (k - m[:, :, None]) ** 2)
    return mean, var


def map_estimate(
    fit_: IrtFit, responses: np.ndarray, *, max_iter: int = 50, bounds: float = 6.0, tol: float = 1e-6
) -> Abilities:
    """Posterior mode by Newton's method, all persons at once; a person leaves the iteration
    once their step is below `tol`. SE = 1/sqrt(test information + prior precision)."""
    y = np.asarray(responses)
    observed = y >= 0
    obs = observed.astype(np.float64)
    y0 = np.where(observed, y, 0).astype(np.float64)
    prior_precision = 1.0 / fit_.latent_sd**2
    a = fit_.slopes
    theta = eap(fit_, y, n_quadrature=31).theta
    active = np.arange(y.shape[0])
    for _ in range(max_iter):
        t = theta[active]
        mean, var = _moments(fit_, t)
        o = obs[active]
        grad = ((y0[active] - mean) * o) @ a - t * prior_precision
        info = (var * o) @ a**2 + prior_precision
        step = grad / info
        theta[active] = np.clip(t + step, -bounds, bounds)
        active = active[np.abs(step) >= tol]
        if active.size == 0:
            break
    _, var = _moments(fit_, theta)
    info = (var * obs) @ a**2 + prior_precision
    return Abilities(theta, 1.0 / np.sqrt(info))


def item_fit(fit_: IrtFit, responses: np.ndarray, theta: np.ndarray) -> dict[str, np.ndarray]:
    """Outfit and infit mean squares (Wright & Masters) at the given abilities.

    outfit_j = mean_i z_ij^2 with z = (x - E) / sqrt(Var); infit_j = sum (x - E)^2 / sum Var.
    Both are 1 in expectation for a fitting item; above ~1.3 the item is noisier than the model.
    """
    y = np.asarray(responses)
    observed = y >= 0
    mean, var = _moments(fit_, np.asarray(theta, float))
    sq = np.where(observed, (y - mean) ** 2, 0.0)
    v = np.where(observed, var, 0.0)
    n = observed.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        outfit = np.where(observed, sq / var, 0.0).sum(axis=0) / n
        infit = sq.sum(axis=0) / v.sum(axis=0)
    return {"outfit": outfit, "infit": infit}
