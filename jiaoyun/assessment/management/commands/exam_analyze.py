"""Analyse one exam from files, no database: `manage.py exam_analyze --scores S --items I --out R.json`."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from django.core.management.base import BaseCommand, CommandError

from jiaoyun.analytics.exams.analysis import ExamOptions, analyze_exam, to_json_ready
from jiaoyun.analytics.exams.tables import ExamDataError


def read_table(path: str):
    p = Path(path)
    if not p.exists():
        raise CommandError(f"no such file: {path}")
    if p.suffix.lower() == ".csv":
        return pacsv.read_csv(p)
    return pq.read_table(p)


class Command(BaseCommand):
    help = "Classical, report, IRT and multilevel analysis of one exam (Parquet or CSV in, JSON out)."

    def add_arguments(self, parser):
        parser.add_argument("--scores", required=True, help="long score rows (Parquet or CSV)")
        parser.add_argument("--items", required=True, help="item table (Parquet or CSV)")
        parser.add_argument("--out", required=True, help="JSON file to write")
        parser.add_argument("--prior", help="previous exam: student_id, score (for value-added)")
        parser.add_argument("--teachers", help="class_id, teacher_id (for teacher diagnosis)")
        parser.add_argument("--irt", default="auto", choices=["auto", "none", "rasch", "1pl", "2pl", "gpcm"])
        parser.add_argument("--band-width", type=float, default=10.0)
        parser.add_argument("--cuts", default="", help="e.g. excellent=0.85,good=0.75,pass=0.6,low=0.4")
        parser.add_argument("--group-fraction", type=float, default=0.27)
        parser.add_argument("--borderline-cut", type=float, help="cut line as a fraction of full marks")
        parser.add_argument("--borderline-window", type=float, default=5.0)
        parser.add_argument("--borderline-ranks", help="district rank window, e.g. 1000-1100")

    def handle(self, *args, **opts):
        try:
            cuts = {k: float(v) for k, v in (pair.split("=") for pair in opts["cuts"].split(",") if pair)}
            ranks = None
            if opts["borderline_ranks"]:
                low, high = opts["borderline_ranks"].split("-")
                ranks = (int(low), int(high))
        except ValueError as exc:
            raise CommandError(f"bad --cuts or --borderline-ranks: {exc}") from exc
        options = ExamOptions(
            band_width=opts["band_width"],
            cuts=cuts,
            group_fraction=opts["group_fraction"],
            irt_model=opts["irt"],
            borderline_cut=opts["borderline_cut"],
            borderline_window=opts["borderline_window"],
            borderline_ranks=ranks,
        )
        try:
            result = analyze_exam(
                read_table(opts["scores"]),
                read_table(opts["items"]),
                prior=read_table(opts["prior"]) if opts["prior"] else None,
                teachers=read_table(opts["teachers"]) if opts["teachers"] else None,
                options=options,
            )
        except ExamDataError as exc:
            raise CommandError(str(exc)) from exc
        Path(opts["out"]).write_text(json.dumps(to_json_ready(result), ensure_ascii=False), encoding="utf-8")
        self.stdout.write(
            f"{result.summary['students']} students, {result.summary['items']} items -> {opts['out']}"
        )
