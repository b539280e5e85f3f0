"""The database itself refuses what the services guard against."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from jiaoyun.electives import services
from jiaoyun.electives.models import Elective, Enrolment, StudentLoad
from jiaoyun.electives.tests import factories

pytestmark = pytest.mark.django_db


def test_unique_and_check_constraints_refuse_raw_writes(demo: Any) -> None:
    setup = factories.catalogue(demo.school_a, capacities=[3, 3], slot_of=[0, 0])
    student = factories.students(demo.school_a, 1)[0]
    services.select(student=student, elective_id=setup.electives[0].pk)
    for elective in setup.electives:  # same elective twice; a second elective in the slot
        with pytest.raises(IntegrityError), transaction.atomic():
            Enrolment.objects.create(
                student=student,
                elective=elective,
                catalogue=setup.catalogue,
                slot=elective.slot,
                source="first_come",
            )
    with pytest.raises(IntegrityError), transaction.atomic():
        Elective.objects.filter(pk=setup.electives[0].pk).update(taken=4)
    with pytest.raises(IntegrityError), transaction.atomic():
        StudentLoad.objects.filter(student=student).update(held=4)
