"""placement_run / placement_verify / placement_seed, driven through call_command.

None of these tests asks for the database: pytest-django refuses database access to tests not
marked for it, so passing proves the commands run on a notary's offline laptop.
"""

from __future__ import annotations

import hashlib
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

SCHOOLS_CSV = "id,zone,capacity,categories,waitlist\nM1,east,1,sibling,\nM2,east,1,,\nM9,west,5,,\n"
APPLICANTS_CSV = (
    "id,zone,preferences,categories\nP3,east,M1;M2,\nP1,east,M1;M2,M1:sibling\nP2,east,M2;M1,\nP4,west,,\n"
)
SEED = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def expected_input_hash() -> str:
    # The canonical document of docs/admissions.md, written out by hand for this input.
    canonical = (
        '{"applicants":['
        '{"categories":{"M1":"sibling"},"id":"P1","preferences":["M1","M2"],"zone":"east"},'
        '{"categories":{},"id":"P2","preferences":["M2","M1"],"zone":"east"},'
        '{"categories":{},"id":"P3","preferences":["M1","M2"],"zone":"east"},'
        '{"categories":{},"id":"P4","preferences":["M9"],"zone":"west"}],'
        '"format":"jiaoyun-placement-input/1",'
        '"schools":['
        '{"capacity":1,"categories":["sibling"],"id":"M1","waitlist":null,"zone":"east"},'
        '{"capacity":1,"categories":[],"id":"M2","waitlist":null,"zone":"east"},'
        '{"capacity":5,"categories":[],"id":"M9","waitlist":null,"zone":"west"}]}'
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def lottery_number_order(input_hash: str) -> list[str]:
    digests = {
        a: hashlib.sha256(f"jiaoyun-lottery/1\n{SEED}\n\n{input_hash}\n{a}".encode()).digest()
        for a in ("P1", "P2", "P3", "P4")
    }
    return sorted(digests, key=digests.get)


@pytest.fixture
def published(tmp_path):
    (tmp_path / "schools.csv").write_text(SCHOOLS_CSV, encoding="utf-8")
    (tmp_path / "applicants.csv").write_text(APPLICANTS_CSV, encoding="utf-8")
    return tmp_path


def run(tmp_path, mechanism: str, applicants="applicants.csv", schools="schools.csv", out="result.json"):
    stdout = StringIO()
    call_command(
        "placement_run",
        applicants=str(tmp_path / applicants),
        schools=str(tmp_path / schools),
        mechanism=mechanism,
        seed=SEED,
        out=str(tmp_path / out),
        stdout=stdout,
    )
    return json.loads((tmp_path / out).read_bytes()), stdout.getvalue()


def test_boston_result_from_csv_files(published):
    result, output = run(published, "boston")
    outcome = {row["id"]: row["school"] for row in result["applicants"]}
    # P1 holds the sibling category at M1; P2 is alone in listing M2 first; P3 finds both full.
    assert outcome == {"P1": "M1", "P2": "M2", "P3": None, "P4": "M9"}
    assert result["input_hash"] == expected_input_hash()
    assert result["seed"] == SEED
    assert (
        result["seed_commitment"] == hashlib.sha256(f"jiaoyun-seed-commitment/1\n{SEED}".encode()).hexdigest()
    )
    assert result["mechanism"] == "boston"
    assert result["algorithm_version"] == "jiaoyun-placement/1"
    order = lottery_number_order(expected_input_hash())
    assert {row["id"]: row["lottery_number"] for row in result["applicants"]} == {
        a: order.index(a) + 1 for a in order
    }
    assert result["totals"] == {"applicants": 4, "seats": 7, "placed": 3, "waitlisted": 0, "unplaced": 1}
    schools = {row["id"]: row for row in result["schools"]}
    assert schools["M9"]["single_school_zone"] is True
    assert (schools["M2"]["placed"], schools["M2"]["unplaced_applicants"]) == (1, 1)
    assert f"input hash:      {expected_input_hash()}" in output


def test_deferred_acceptance_result_follows_the_lottery(published):
    result, _ = run(published, "deferred-acceptance")
    outcome = {row["id"]: row["school"] for row in result["applicants"]}
    order = lottery_number_order(expected_input_hash())
    # P2 and P3 meet at M2 (P1 keeps M1 by category); the smaller lottery number wins it.
    winner, loser = sorted(("P2", "P3"), key=order.index)
    assert outcome == {"P1": "M1", winner: "M2", loser: None, "P4": "M9"}


def test_json_files_and_shuffled_rows_give_byte_identical_results(published):
    run(published, "deferred-acceptance", out="from-csv.json")
    schools = [
        {"id": "M9", "zone": "west", "capacity": 5},
        {"id": "M2", "zone": "east", "capacity": 1, "categories": []},
        {"id": "M1", "zone": "east", "capacity": 1, "categories": ["sibling"], "waitlist": None},
    ]
    applicants = {
        "applicants": [
            {"id": "P4", "zone": "west"},
            {"id": "P2", "zone": "east", "preferences": ["M2", "M1"]},
            {"id": "P1", "zone": "east", "preferences": ["M1", "M2"], "categories": {"M1": "sibling"}},
            {"id": "P3", "zone": "east", "preferences": ["M1", "M2"], "categories": {}},
        ]
    }
    (published / "schools.json").write_text(json.dumps(schools), encoding="utf-8")
    (published / "applicants.json").write_text(json.dumps(applicants), encoding="utf-8")
    run(published, "deferred-acceptance", "applicants.json", "schools.json", out="from-json.json")
    assert (published / "from-json.json").read_bytes() == (published / "from-csv.json").read_bytes()


def test_kindergarten_round_draws_a_waitlist(tmp_path):
    (tmp_path / "k.csv").write_text(
        "id,capacity,categories,waitlist\nK1,1,policy;local,1\n", encoding="utf-8"
    )
    (tmp_path / "c.csv").write_text(
        "id,preferences,categories\nC1,K1,K1:local\nC2,K1,K1:local\nC3,K1,\nC4,K1,K1:policy\n",
        encoding="utf-8",
    )
    stdout = StringIO()
    call_command(
        "placement_run",
        applicants=str(tmp_path / "c.csv"),
        schools=str(tmp_path / "k.csv"),
        mechanism="kindergarten",
        seed=SEED,
        out=str(tmp_path / "r.json"),
        csv=str(tmp_path / "r.csv"),
        stdout=stdout,
    )
    result = json.loads((tmp_path / "r.json").read_bytes())
    rows = {row["id"]: row for row in result["applicants"]}
    numbers = {a: rows[a]["lottery_number"] for a in rows}
    first_local = min(("C1", "C2"), key=numbers.get)
    other_local = ({"C1", "C2"} - {first_local}).pop()
    # The policy tier takes the one seat; the local tier overflows and is drawn for the waitlist
    # of one; the general-tier child is not drawn at all.
    assert rows["C4"]["status"] == "placed"
    assert (rows[first_local]["status"], rows[first_local]["waitlist_position"]) == ("waitlisted", 1)
    assert rows[other_local]["status"] == "unplaced"
    assert rows["C3"]["status"] == "unplaced"
    assert result["schools"][0]["waitlist"] == [first_local]
    csv_lines = (tmp_path / "r.csv").read_text(encoding="utf-8").splitlines()
    assert csv_lines[0] == "id,zone,lottery_number,status,school,choice,category,waitlist_position"
    assert csv_lines[4] == f"C4,,{numbers['C4']},placed,K1,1,policy,"


def test_verify_accepts_the_published_result(published):
    run(published, "boston")
    commitment = hashlib.sha256(f"jiaoyun-seed-commitment/1\n{SEED}".encode()).hexdigest()
    stdout = StringIO()
    call_command(
        "placement_verify",
        applicants=str(published / "applicants.csv"),
        schools=str(published / "schools.csv"),
        result=str(published / "result.json"),
        seed=SEED,
        commitment=commitment,
        mechanism="boston",
        stdout=stdout,
    )
    output = stdout.getvalue()
    assert "FAILED" not in output
    assert output.count("[ok]") == 6
    assert "verified: the published result is byte-identical to the re-run" in output


def test_verify_reports_the_first_difference_of_a_tampered_result(published):
    run(published, "boston")
    result_path = published / "result.json"
    result_path.write_bytes(result_path.read_bytes().replace(b'"id":"P3",', b'"id":"P3" ,'))
    stdout = StringIO()
    with pytest.raises(CommandError, match="verification FAILED"):
        call_command(
            "placement_verify",
            applicants=str(published / "applicants.csv"),
            schools=str(published / "schools.csv"),
            result=str(result_path),
            seed=SEED,
            stdout=stdout,
        )
    output = stdout.getvalue()
    assert "[FAILED] re-running gives a byte-identical result" in output
    assert 'the re-run has \'{"category":null,"choice":null,"id":"P3",' in output


def test_verify_refuses_a_seed_that_does_not_match_the_commitment(published):
    run(published, "boston")
    stdout = StringIO()
    with pytest.raises(CommandError):
        call_command(
            "placement_verify",
            applicants=str(published / "applicants.csv"),
            schools=str(published / "schools.csv"),
            result=str(published / "result.json"),
            seed=SEED,
            commitment="0" * 64,
            stdout=stdout,
        )
    assert "[FAILED] the revealed seed matches the commitment published in advance" in stdout.getvalue()


def test_verify_notices_a_changed_input_file(published):
    run(published, "boston")
    (published / "schools.csv").write_text(SCHOOLS_CSV.replace("M9,west,5", "M9,west,6"), encoding="utf-8")
    stdout = StringIO()
    with pytest.raises(CommandError):
        call_command(
            "placement_verify",
            applicants=str(published / "applicants.csv"),
            schools=str(published / "schools.csv"),
            result=str(published / "result.json"),
            seed=SEED,
            stdout=stdout,
        )
    assert "[FAILED] the published input hashes to the recorded input hash" in stdout.getvalue()


def test_bad_files_are_refused_with_every_problem_listed(tmp_path):
    (tmp_path / "s.csv").write_text("id,capacity,name\nM1,x,One\n", encoding="utf-8")
    (tmp_path / "a.csv").write_text("id,preferences\nP1,M7\nP1,M1\n", encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        call_command(
            "placement_run",
            applicants=str(tmp_path / "a.csv"),
            schools=str(tmp_path / "s.csv"),
            mechanism="boston",
            seed=SEED,
            out=str(tmp_path / "r.json"),
        )
    assert "column 'name' is not part of the format" in str(caught.value)
    (tmp_path / "s.csv").write_text("id,capacity\nM1,x\n", encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        call_command(
            "placement_run",
            applicants=str(tmp_path / "a.csv"),
            schools=str(tmp_path / "s.csv"),
            mechanism="boston",
            seed=SEED,
            out=str(tmp_path / "r.json"),
        )
    assert "capacity must be a whole number, got 'x'" in str(caught.value)
    assert not (tmp_path / "r.json").exists()
    (tmp_path / "s.csv").write_text("id,capacity\nM1,1\n", encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        call_command(
            "placement_run",
            applicants=str(tmp_path / "a.csv"),
            schools=str(tmp_path / "s.csv"),
            mechanism="boston",
            seed=SEED,
            out=str(tmp_path / "r.json"),
        )
    message = str(caught.value)
    assert "applicant 'P1': preference 'M7' is not a known school" in message
    assert "applicant 'P1' appears more than once" in message


def test_seed_command_prints_a_commitment_that_verifies():
    stdout = StringIO()
    call_command("placement_seed", stdout=stdout)
    lines = stdout.getvalue().splitlines()
    seed = lines[0].rsplit(" ", 1)[1]
    commitment = lines[1].rsplit(" ", 1)[1]
    assert len(seed) == 64
    assert commitment == hashlib.sha256(f"jiaoyun-seed-commitment/1\n{seed}".encode()).hexdigest()
    stdout = StringIO()
    call_command("placement_seed", seed=SEED, stdout=stdout)
    assert (
        stdout.getvalue().split()[-1]
        == hashlib.sha256(f"jiaoyun-seed-commitment/1\n{SEED}".encode()).hexdigest()
    )


def test_hash_command_prints_the_input_hash_and_writes_the_canonical_document(published):
    stdout = StringIO()
    call_command(
        "placement_hash",
        applicants=str(published / "applicants.csv"),
        schools=str(published / "schools.csv"),
        canonical_out=str(published / "canonical.json"),
        stdout=stdout,
    )
    assert stdout.getvalue().splitlines() == [
        "3 schools, 4 applicants, 7 seats",
        f"input hash: {expected_input_hash()}",
    ]
    assert hashlib.sha256((published / "canonical.json").read_bytes()).hexdigest() == expected_input_hash()
