"""Response times of the dashboard pages on the demo district (run `make demo` first).

Each page is requested through Django's full stack (middleware, sessions, scoping,
templates) in this process, as the district administrator, after one warm-up request;
the register's home page is timed the same way as the baseline. Target: the dashboard
pages under 300 ms at the 95th percentile.

    .venv/bin/python bench/dashboard_pages.py [--repeat 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiaoyun.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402

from jiaoyun.core.models import School  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    admin = get_user_model().objects.filter(username="district_admin").first()
    if admin is None:
        sys.exit("No demo district in this database: run `make demo` first.")
    client = Client()
    client.force_login(admin)
    school = School.objects.filter(kind=School.Kind.JUNIOR).order_by("code").first()
    assert school is not None
    pages = {
        "home page (baseline)": "/",
        "district overview": "/dashboard/",
        f"school drill-down ({school.code})": f"/dashboard/school/{school.pk}/",
        "big screen": "/dashboard/screen/",
        "big screen data (JSON)": "/dashboard/screen/data.json",
        "early warnings": "/dashboard/warnings/",
        "hiring plan": "/dashboard/hiring/",
    }
    print(f"{'page':<36} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  status")
    for name, url in pages.items():
        status = client.get(url).status_code  # warm-up: templates, caches
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        print(f"{name:<36} {statistics.median(times):8.0f} {p95:8.0f} {times[-1]:8.0f}  {status}")
    print(f"load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
