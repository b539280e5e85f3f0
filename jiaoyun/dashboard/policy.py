"""The planning norms in force: the defaults of `Policy`, overridden by the Django setting
WAREHOUSE_POLICY (a dict) and then by the environment variable JIAOYUN_WAREHOUSE_POLICY (a
JSON object), e.g. '{"retirement_age": {"male": 63, "female": 58}, "rotation_years": 5}'."""

from __future__ import annotations

import json
import os

from django.conf import settings

from jiaoyun.analytics.warehouse.policy import Policy

_memo: dict[str, Policy] = {}


def current_policy() -> Policy:
    overrides = dict(getattr(settings, "WAREHOUSE_POLICY", {}) or {})
    raw = os.environ.get("JIAOYUN_WAREHOUSE_POLICY", "").strip()
    key = json.dumps(overrides, sort_keys=True, default=str) + "|" + raw
    if key not in _memo:
        policy = Policy().with_overrides(overrides)
        if raw:
            policy = policy.with_overrides(json.loads(raw))
        _memo[key] = policy
    return _memo[key]
