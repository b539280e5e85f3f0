"""On PostgreSQL, taking a seat is one function call: the student's load, the seat counter's
compare-and-swap, the enrolment and its event in one statement, one round trip instead of
six (BEGIN, four statements, COMMIT) in a registration rush. `services._take_seat` calls it;
SQLite, in process, runs the same four statements from Python.

The function returns the enrolment's id, -1 when the elective is full, -2 when the student
is at their limit; in both refusals nothing is left written (the load it counted is given
back), so a caller inside a larger transaction can carry on. A second seat in one elective
or one slot raises the unique violation, as the statements did.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION electives_take_seat(
    p_student bigint, p_elective bigint, p_catalogue bigint, p_slot bigint, p_limit integer,
    p_source varchar, p_rank integer, p_at timestamptz, p_action varchar, p_by bigint,
    p_count_load boolean
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    IF p_count_load THEN
        INSERT INTO electives_studentload (student_id, catalogue_id, held, "limit")
        VALUES (p_student, p_catalogue, 1, p_limit)
        ON CONFLICT (student_id, catalogue_id) DO UPDATE SET held = electives_studentload.held + 1
         WHERE electives_studentload.held < electives_studentload."limit"
        RETURNING id INTO v_id;
        IF v_id IS NULL THEN
            RETURN -2;
        END IF;
    END IF;
    UPDATE electives_elective SET taken = taken + 1 WHERE id = p_elective AND taken < capacity;
    IF NOT FOUND THEN
        IF p_count_load THEN
            UPDATE electives_studentload SET held = held - 1
             WHERE student_id = p_student AND catalogue_id = p_catalogue;
        END IF;
        RETURN -1;
    END IF;
    INSERT INTO electives_enrolment (student_id, elective_id, catalogue_id, slot_id, source, rank, created_at)
    VALUES (p_student, p_elective, p_catalogue, p_slot, p_source, p_rank, p_at)
    RETURNING id INTO v_id;
    INSERT INTO electives_selectionevent (at, catalogue_id, elective_id, student_id, action, by_id)
    VALUES (p_at, p_catalogue, p_elective, p_student, p_action, p_by);
    RETURN v_id;
END;
$$;
"""

DROP = """
DROP FUNCTION IF EXISTS electives_take_seat(
    bigint, bigint, bigint, bigint, integer, varchar, integer, timestamptz, varchar, bigint, boolean
);
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("electives", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
