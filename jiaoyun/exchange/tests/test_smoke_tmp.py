import datetime as dt
import pytest
from jiaoyun.core.models import Student, School
from jiaoyun.exchange import workbooks
from jiaoyun.exchange.importers import StudentImporter, Context
from jiaoyun.exchange.reader import read_table

pytestmark = pytest.mark.django_db

def test_roundtrip(demo):
    data = workbooks.rows_workbook("students", workbooks.student_rows(Student.objects.all()))
    imp = StudentImporter(Context(today=dt.date(2026, 11, 1), allowed_school_ids=None))
    out = imp.run(read_table(data))
    print(out.issues[:5], out.counts, out.rows, out.ignored_columns)
    assert not out.issues
