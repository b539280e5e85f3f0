"""Two-level random-intercept models (students in schools or classes) from sufficient statistics.

    y_ij = x_ij' beta + u_j + e_ij,   u_j ~ N(0, tau2),  e_ij ~ N(0, sigma2)

Every quantity the (RE)ML likelihood needs is a per-group sum, so 100,000 students cost one
pass; the variance ratio lambda = tau2 / sigma2 is found by a one-dimensional search with
sigma2 and beta profiled out (the approach of lme4's profiled deviance, for this one case).

- between-school difference (校间差异): the ICC tau2 / (tau2 + sigma2) of the null model;
- value-added (增值): each unit's predicted random intercept (BLUP) in the model of this exam
  on the prior exam, with a 95% interval from its conditional variance; a unit is called
  above or below only when the interval excludes zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.stats import norm


@dataclass(frozen=True)
class RandomInterceptFit:
    method: str
    beta: np.ndarray
    beta_se: np.ndarray
    tau2: float
    sigma2: float
    log_likelihood: float
    group_ids: list
    group_sizes: np.ndarray
    blup: np.ndarray
    blup_se: np.ndarray

    @property
    def icc(self) -> float:
        return self.tau2 / (self.tau2 + self.sigma2)

    def intervals(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        z = norm.ppf(0.5 + level / 2)
        return self.blup - z * self.blup_se, self.blup + z * self.blup_se

    def calls(self, level: float = 0.95) -> list[str]:
        low, high = self.intervals(level)
        return [
            "above" if lo > 0 else "below" if hi < 0 else "not distinguishable"
            for lo, hi in zip(low, high, strict=True)
        ]


def random_intercept(
    y: np.ndarray, groups: np.ndarray, covariates: np.ndarray | None = None, *, method: str = "reml"
) -> RandomInterceptFit:
    """Fit by REML (default) or ML. `covariates` (n x p) get an intercept added in front."""
    if method not in ("reml", "ml"):
        raise ValueError("method must be 'reml' or 'ml'")
    y = np.asarray(y, dtype=np.float64)
    n = y.shape[0]
    x = np.ones((n, 1)) if covariates is None else np.column_stack([np.ones(n), covariates])
    p = x.shape[1]
    group_ids, codes = np.unique(np.asarray(groups), return_inverse=True)
    n_groups = len(group_ids)
    size = np.bincount(codes, minlength=n_groups).astype(np.float64)
    sum_x = np.zeros((n_groups, p))
    np.add.at(sum_x, codes, x)
    sum_y = np.bincount(codes, weights=y, minlength=n_groups)
    xx, xy, yy = x.T @ x, x.T @ y, y @ y
    dof = n - p if method == "reml" else n

    def profile(log_lambda: float):
        lam = np.exp(log_lambda)
        w = lam / (1 + size * lam)  # gamma_j / n_j
        a = xx - (sum_x * w[:, None]).T @ sum_x
        b = xy - (sum_x * w[:, None]).T @ sum_y
        c = yy - (w * sum_y**2).sum()
        beta = np.linalg.solve(a, b)
        rss = c - b @ beta
        sigma2 = rss / dof
        logdet = np.log1p(size * lam).sum()
        deviance = dof * np.log(2 * np.pi * sigma2) + logdet + dof
        if method == "reml":
            deviance += np.linalg.slogdet(a)[1]
        return deviance, beta, sigma2, a

    best = minimize_scalar(
        lambda t: profile(t)[0], bounds=(-20.0, 10.0), method="bounded", options={"xatol": 1e-10}
    )
    log_lambda = float(best.x)
    deviance, beta, sigma2, a = profile(log_lambda)
    lam = np.exp(log_lambda)
    tau2 = lam * sigma2
    gamma = size * lam / (1 + size * lam)
    residual_mean = (sum_y - sum_x @ beta) / size
    blup = gamma * residual_mean
    blup_se = np.sqrt(sigma2 * lam / (1 + size * lam))
    return RandomInterceptFit(
        method=method,
        beta=beta,
        beta_se=np.sqrt(np.diag(sigma2 * np.linalg.inv(a))),
        tau2=float(tau2),
        sigma2=float(sigma2),
        log_likelihood=float(-deviance / 2),
        group_ids=group_ids.tolist(),
        group_sizes=size.astype(np.int64),
        blup=blup,
        blup_se=blup_se,
    )


def between_unit_difference(y: np.ndarray, groups: np.ndarray, *, method: str = "reml") -> dict:
    """Variance components and ICC of the null model (the national monitoring's 校间差异)."""
    fit = random_intercept(y, groups, method=method)
    return {
        "between_variance": fit.tau2,
        "within_variance": fit.sigma2,
        "icc": fit.icc,
        "grand_mean": float(fit.beta[0]),
        "units": len(fit.group_ids),
    }


def unit_mean_and_spread(y: np.ndarray, groups: np.ndarray) -> list[dict]:
    """Each unit's mean against its SD (n-1): the 校间差异小、学业成绩高 quadrant chart."""
    y = np.asarray(y, dtype=np.float64)
    ids, codes = np.unique(np.asarray(groups), return_inverse=True)
    count = np.bincount(codes)
    mean = np.bincount(codes, weights=y) / count
    ss = np.bincount(codes, weights=(y - mean[codes]) ** 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(ss / (count - 1))
    return [
        {"unit_id": u, "count": int(c), "mean": float(m), "sd": float(s) if c > 1 else None}
        for u, c, m, s in zip(ids.tolist(), count, mean, sd, strict=True)
    ]


def value_added(
    current: np.ndarray, prior: np.ndarray, groups: np.ndarray, *, level: float = 0.95, method: str = "reml"
) -> tuple[RandomInterceptFit, list[dict]]:
    """Value-added of each unit: its random intercept in current ~ prior, with an interval."""
    fit = random_intercept(current, groups, np.asarray(prior, dtype=np.float64)[:, None], method=method)
    low, high = fit.intervals(level)
    rows = [
        {
            "unit_id": u,
            "count": int(nj),
            "value_added": float(v),
            "se": float(se),
            "low": float(lo),
            "high": float(hi),
            "call": call,
        }
        for u, nj, v, se, lo, hi, call in zip(
            fit.group_ids, fit.group_sizes, fit.blup, fit.blup_se, low, high, fit.calls(level), strict=True
        )
    ]
    return fit, rows
