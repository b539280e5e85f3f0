"""The demo district: a believable district built from a seed.

`build_district(seed=7, scale=FULL)` makes what `manage.py demo_district` shows (about 95
schools, 80,000 students and 6,000 teachers with a real age, subject and title structure,
and a few subjects short of teachers); `scale=TINY` makes the test fixtures with the same
code. Same seed, same district. Every name, ID number (valid GB 11643 check character),
phone and address is fake.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from jiaoyun.accounts.models import Role, RoleGrant
from jiaoyun.analytics.warehouse.policy import curriculum
from jiaoyun.core.identity import make_id_number
from jiaoyun.core.models import (
    Campus,
    ClassEnrolment,
    District,
    Grade,
    Guardian,
    School,
    SchoolClass,
    Student,
    StudentGuardian,
    Subject,
    Teacher,
    TeacherPosting,
    TeachingAssignment,
    Term,
)

DEMO_PASSWORD = "jiaoyun-demo"
REGION = "440104"  # the region prefix of the demo district's ID numbers

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华文建国志晨宇浩然子涵梓轩一诺欣怡思远雨桐"
    "俊杰嘉怡佳琪诗涵梦瑶博文天佑宇航泽宇可馨语嫣浩宇若曦晓东海峰慧敏丹丹婷婷家豪皓轩"
)
STREETS = (
    "中山",
    "解放",
    "北京",
    "东风",
    "农林",
    "越秀",
    "环市",
    "德政",
    "文德",
    "建设",
    "白云",
    "流花",
    "登峰",
    "广卫",
)

# Subjects: code, Chinese name, English name.
SUBJECTS = (
    ("chinese", "语文", "Chinese"),
    ("math", "数学", "Mathematics"),
    ("english", "英语", "English"),
    ("physics", "物理", "Physics"),
    ("chemistry", "化学", "Chemistry"),
    ("biology", "生物", "Biology"),
    ("history", "历史", "History"),
    ("geography", "地理", "Geography"),
    ("politics", "道德与法治", "Morality and law"),
    ("science", "科学", "Science"),
    ("it", "信息科技", "Information technology"),
    ("pe", "体育与健康", "Physical education"),
    ("music", "音乐", "Music"),
    ("art", "美术", "Art"),
    ("psychology", "心理健康", "Mental health"),
    ("labour", "劳动", "Labour"),
    ("preschool", "学前教育", "Early childhood education"),
)

# Weekly periods per class by stage: the warehouse policy's curriculum, so the demo's staffing
# and the shortage views count with the same table.
WEEKLY_PERIODS: dict[str, dict[str, int]] = curriculum()
# Subjects the demo district is short of: their teachers are hired at this fraction of need.
SHORT_SUBJECTS = {"psychology": 0.35, "it": 0.55, "pe": 0.75, "physics": 0.85}
# Periods a full-time teacher gives a week (a kindergarten class has two teachers).
TEACHER_PERIODS_PER_WEEK = {"kindergarten": 10, "primary": 10, "junior": 9, "senior": 8.5}


def stage_of(level: int) -> str:
    if level <= 0:
        return "kindergarten"
    if level <= 6:
        return "primary"
    if level <= 9:
        return "junior"
    return "senior"


@dataclass(frozen=True)
class Scale:
    schools: dict[str, int]  # kind -> how many
    classes_per_grade: tuple[int, int]  # min, max
    class_size: tuple[int, int]  # min, max (kindergarten classes are 3/4 of it)
    oversize_share: float = 0.0  # share of classes over the 55-student limit


FULL = Scale(
    schools={"kindergarten": 22, "primary": 38, "junior": 16, "senior": 6, "complete": 6,
             "nine_year": 5, "twelve_year": 2},
    classes_per_grade=(2, 6),
    class_size=(38, 48),
    oversize_share=0.03,
)  # fmt: skip
TINY = Scale(
    schools={"kindergarten": 1, "primary": 2, "junior": 2, "senior": 1},
    classes_per_grade=(2, 2),
    class_size=(4, 6),
)
SCALES = {"full": FULL, "tiny": TINY}


@dataclass
class DemoDistrict:
    district: District
    schools: list[School]
    users: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


class _Names:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def person(self) -> str:
        r = self.rng
        given = r.choice(GIVEN) + (r.choice(GIVEN) if r.random() < 0.75 else "")
        return r.choice(SURNAMES) + given


class _Unique:
    """Unique phone and ID numbers without retries over a growing set."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.id_seq: dict[tuple[dt.date, bool], int] = defaultdict(int)
        self.phone_seq = 0
        self.phone_prefixes = ("138", "139", "135", "136", "137", "150", "151", "186", "187", "189", "177")

    def id_number(self, birth: dt.date, male: bool) -> str:
        key = (birth, male)
        self.id_seq[key] += 1
        return make_id_number(REGION, birth, self.id_seq[key], male)

    def phone(self) -> str:
        self.phone_seq += 1
        # A fixed odd multiplier mod 10^8 permutes the counter: distinct, and not sequential.
        body = (self.phone_seq * 73_939_133) % 100_000_000
        return self.rng.choice(self.phone_prefixes) + f"{body:08d}"


def _birth(rng: random.Random, year: int) -> dt.date:
    # School cohorts run from September to August.
    start = dt.date(year, 9, 1)
    return start + dt.timedelta(days=rng.randrange(365))


def school_year_of(today: dt.date) -> int:
    return today.year if today.month >= 8 else today.year - 1


SCHOOL_NAME_STEMS = "东山 登峰 建设 培正 育才 执信 朝天 华侨 铁一 文德 八旗 越秀 登瀛 旧部 大南 中星 回民 东风 黄花 农林 署前 明德 清水 盘福 流花 三元 矿泉 洪桥 北京街 六榕 光塔 人民 诗书 珠光 大塘 白云 梅花 竹丝 杨箕".split()
KIND_SUFFIX = {
    "kindergarten": "幼儿园", "primary": "小学", "junior": "中学", "senior": "高级中学",
    "complete": "中学", "nine_year": "实验学校", "twelve_year": "外国语学校",
}  # fmt: skip


@transaction.atomic
def build_district(*, seed: int = 7, scale: Scale = FULL, today: dt.date | None = None) -> DemoDistrict:
    rng = random.Random(seed)
    names = _Names(rng)
    unique = _Unique(rng)
    today = today or dt.date.today()
    year = school_year_of(today)

    district = District.objects.create(code=REGION, name="越秀区")
    for sy, sem in ((year - 1, 1), (year - 1, 2), (year, 1), (year, 2)):
        start = dt.date(sy, 9, 1) if sem == 1 else dt.date(sy + 1, 2, 20)
        end = dt.date(sy + 1, 1, 20) if sem == 1 else dt.date(sy + 1, 7, 10)
        Term.objects.create(school_year=sy, semester=sem, start=start, end=end)
    subjects = {code: Subject.objects.create(code=code, name=name, name_en=en) for code, name, en in SUBJECTS}

    schools: list[School] = []
    serial = 0
    stems = list(SCHOOL_NAME_STEMS)
    rng.shuffle(stems)
    for kind, count in scale.schools.items():
        for i in range(count):
            serial += 1
            stem = stems[serial % len(stems)]
            suffix = KIND_SUFFIX[kind]
            name = f"越秀区{stem}{suffix}" if i < len(stems) else f"越秀区{stem}{suffix}{i}"
            if any(s.name == name for s in schools):
                name = f"越秀区{stem}第{i + 1}{suffix}"
            schools.append(
                School(
                    district=district,
                    code=f"144010{serial:04d}",
                    name=name,
                    kind=kind,
                    address=f"广州市越秀区{rng.choice(STREETS)}路{rng.randint(1, 300)}号",
                    phone=f"020-{rng.randint(8300_0000, 8399_9999)}",
                    zone=f"第{(serial - 1) % 8 + 1}学区",
                    founded_year=rng.choice([1905, 1923, 1950, 1958, 1978, 1985, 1996, 2003, 2012]),
                    is_public=rng.random() > 0.08,
                    is_quality=rng.random() < 0.3,
                )
            )
    School.objects.bulk_create(schools)
    for school in schools:
        Campus.objects.create(school=school, name="本部", address=school.address, is_main=True)
        if school.kind in {"twelve_year", "nine_year", "complete"}:
            Campus.objects.create(
                school=school,
                name="分校区",
                address=f"广州市越秀区{rng.choice(STREETS)}路{rng.randint(1, 300)}号",
            )

    # Grades and classes, with how many students each class gets.
    grades: list[Grade] = []
    for school in schools:
        stage_start = {"kindergarten": -2, "primary": 1, "junior": 7, "senior": 10}
        for level in school.levels:
            entry = year - (level - stage_start[stage_of(level)])
            grades.append(Grade(school=school, level=level, entry_year=entry))
    Grade.objects.bulk_create(grades)
    classes: list[SchoolClass] = []
    class_sizes: list[int] = []
    for grade in grades:
        n = rng.randint(*scale.classes_per_grade)
        for number in range(1, n + 1):
            classes.append(SchoolClass(school=grade.school, grade=grade, number=number))
            low, high = scale.class_size
            if grade.level <= 0:
                low, high = low * 3 // 4, high * 3 // 4
            size = rng.randint(low, high)
            if rng.random() < scale.oversize_share:
                size = rng.randint(56, 66)
            class_sizes.append(size)
    SchoolClass.objects.bulk_create(classes)

    # Teachers: enough for the periods each school's classes need, less for short subjects.
    teachers: list[Teacher] = []
    postings: list[TeacherPosting] = []
    by_school_subject: dict[tuple[int, str], list[Teacher]] = defaultdict(list)
    staff_serial = 0
    need: dict[tuple[int, str], float] = defaultdict(float)
    for c in classes:
        stage = stage_of(c.grade.level)
        for code, periods in WEEKLY_PERIODS[stage].items():
            need[(c.school_id, code)] += periods / TEACHER_PERIODS_PER_WEEK[stage]
    school_by_id = {s.pk: s for s in schools}
    for (school_id, code), fte in sorted(need.items()):
        share = SHORT_SUBJECTS.get(code, 1.0) * rng.uniform(0.92, 1.12)
        n = max(1, round(fte * share)) if code not in SHORT_SUBJECTS or rng.random() < 0.9 else 0
        school = school_by_id[school_id]
        for _ in range(n):
            staff_serial += 1
            teacher, history = _make_teacher(rng, names, unique, staff_serial, school, subjects[code], today)
            teachers.append(teacher)
            postings.extend(history)
            by_school_subject[(school_id, code)].append(teacher)
    # A few retired teachers still on the register, for the history views.
    Teacher.objects.bulk_create(teachers, batch_size=2000)
    for p in postings:
        p.teacher_id = p.teacher.pk
    TeacherPosting.objects.bulk_create(postings, batch_size=2000)

    # Teaching assignments and head teachers: round-robin over the school's subject teachers.
    assignments: list[TeachingAssignment] = []
    turn: dict[tuple[int, str], int] = defaultdict(int)
    for c in classes:
        stage = stage_of(c.grade.level)
        for code, periods in WEEKLY_PERIODS[stage].items():
            pool = by_school_subject.get((c.school_id, code))
            if not pool:
                continue
            t = pool[turn[(c.school_id, code)] % len(pool)]
            turn[(c.school_id, code)] += 1
            assignments.append(
                TeachingAssignment(teacher=t, school_class=c, subject=subjects[code], weekly_hours=periods)
            )
            if code in {"chinese", "preschool"} and c.head_teacher is None:
                c.head_teacher = t
    TeachingAssignment.objects.bulk_create(assignments, batch_size=5000)
    SchoolClass.objects.bulk_update(classes, ["head_teacher"], batch_size=2000)

    # Students, their class history and guardians.
    students: list[Student] = []
    enrolments: list[ClassEnrolment] = []
    guardians: list[Guardian] = []
    links: list[tuple[int, int, str]] = []  # student index, guardian index, relation
    for c, size in zip(classes, class_sizes, strict=True):
        level = c.grade.level
        for _ in range(size):
            male = rng.random() < 0.52
            birth = _birth(rng, year - level - 6)
            id_number = unique.id_number(birth, male)
            household = rng.choices(["local", "city", "outside"], weights=[80, 12, 8])[0]
            s = Student(
                student_no="G" + id_number,
                name=names.person(),
                gender="male" if male else "female",
                birth_date=birth,
                id_number=id_number,
                enrolment_year=c.grade.entry_year,
                school=c.school,
                school_class=c,
                household=household,
                address=f"广州市越秀区{rng.choice(STREETS)}路{rng.randint(1, 300)}号{rng.randint(1, 30)}0{rng.randint(1, 4)}",
            )
            students.append(s)
            index = len(students) - 1
            enrolments.append(
                ClassEnrolment(
                    student=s, school_class=c, start=dt.date(c.grade.entry_year, 9, 1), reason="入学"
                )
            )
            surname = s.name[0]
            for relation in ("father", "mother") if rng.random() < 0.9 else ("mother",):
                parent_male = relation == "father"
                gname = (
                    (surname if parent_male else rng.choice(SURNAMES)) + rng.choice(GIVEN) + rng.choice(GIVEN)
                )
                guardians.append(Guardian(name=gname, phone=unique.phone()))
                links.append((index, len(guardians) - 1, relation))
    Student.objects.bulk_create(students, batch_size=2000)
    for e in enrolments:
        e.student_id = e.student.pk
    ClassEnrolment.objects.bulk_create(enrolments, batch_size=5000)
    Guardian.objects.bulk_create(guardians, batch_size=5000)
    StudentGuardian.objects.bulk_create(
        (
            StudentGuardian(student=students[si], guardian=guardians[gi], relation=rel)
            for si, gi, rel in links
        ),
        batch_size=5000,
    )

    demo = DemoDistrict(district=district, schools=schools)
    demo.users = _demo_users(schools, classes)
    demo.counts = {
        "schools": len(schools), "classes": len(classes), "teachers": len(teachers),
        "students": len(students), "guardians": len(guardians),
    }  # fmt: skip
    return demo


def _make_teacher(
    rng: random.Random,
    names: _Names,
    unique: _Unique,
    serial: int,
    school: School,
    subject: Subject,
    today: dt.date,
) -> tuple[Teacher, list[TeacherPosting]]:
    # Age structure: the bulge of teachers hired in the 1990s and 2000s, a young cohort
    # since 2018, fewer in between.
    age = int(rng.choices([rng.randint(23, 30), rng.randint(31, 40), rng.randint(41, 50), rng.randint(51, 59)],
                          weights=[26, 24, 30, 20])[0])  # fmt: skip
    male = rng.random() < (0.08 if subject.code == "preschool" else 0.32)
    birth = dt.date(today.year - age, rng.randint(1, 12), rng.randint(1, 28))
    started = today.year - max(0, age - rng.randint(22, 25))
    if age < 30:
        title = rng.choices(["none", "third", "second"], weights=[30, 20, 50])[0]
    elif age < 40:
        title = rng.choices(["second", "first"], weights=[45, 55])[0]
    elif age < 50:
        title = rng.choices(["first", "senior"], weights=[55, 45])[0]
    else:
        title = rng.choices(["first", "senior", "professor"], weights=[40, 56, 4])[0]
    if age < 35:
        qualification = rng.choices(["master", "bachelor", "doctorate"], weights=[42, 56, 2])[0]
    else:
        qualification = rng.choices(["master", "bachelor", "associate"], weights=[12, 78, 10])[0]
    years_here = min(today.year - started, rng.choice([1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20]))
    joined = dt.date(today.year - years_here, 9, 1)
    id_number = unique.id_number(birth, male)
    teacher = Teacher(
        staff_no=f"T{serial:06d}",
        name=names.person(),
        gender="male" if male else "female",
        birth_date=birth,
        id_number=id_number,
        phone=unique.phone(),
        subject=subject,
        title=title,
        qualification=qualification,
        status=rng.choices(["established", "contract"], weights=[88, 12])[0],
        school=school,
        joined_school_on=joined,
        started_teaching_year=started,
    )
    history = []
    if joined.year > started + 1:
        history.append(TeacherPosting(teacher=teacher, school=school, start=dt.date(started, 9, 1),
                                      end=joined, reason="调入前任教"))  # fmt: skip
    history.append(TeacherPosting(teacher=teacher, school=school, start=joined, reason="在岗"))
    return teacher, history


def _demo_users(schools: list[School], classes: list[SchoolClass]) -> dict[str, Any]:
    """Demo logins: a district administrator and staff member, and for the first two junior
    schools (A and B) a school administrator, a head teacher, a student and a parent."""
    User = get_user_model()
    users: dict[str, Any] = {}

    def make(username: str, display: str) -> Any:
        user = User.objects.create_user(username=username, password=DEMO_PASSWORD, display_name=display)
        users[username] = user
        return user

    admin = make("district_admin", "区教育局管理员")
    RoleGrant.objects.create(user=admin, role=Role.DISTRICT_ADMIN)
    staff = make("district_staff", "区教研员")
    RoleGrant.objects.create(user=staff, role=Role.DISTRICT_STAFF)
    juniors = [s for s in schools if s.kind == School.Kind.JUNIOR][:2]
    for suffix, school in zip(("", "_b"), juniors, strict=False):
        school_admin = make(f"school_admin{suffix}", f"{school.name}教务处")
        RoleGrant.objects.create(user=school_admin, role=Role.SCHOOL_ADMIN, school=school)
        school_class = next(c for c in classes if c.school_id == school.pk and c.head_teacher_id)
        head = school_class.head_teacher
        assert head is not None
        teacher_user = make(f"teacher{suffix}", head.name)
        Teacher.objects.filter(pk=head.pk).update(user=teacher_user)
        student = Student.objects.filter(school_class=school_class).order_by("pk").first()
        assert student is not None
        student_user = make(f"student{suffix}", student.name)
        Student.objects.filter(pk=student.pk).update(user=student_user)
        guardian = Guardian.objects.filter(student_links__student=student).order_by("pk").first()
        assert guardian is not None
        parent_user = make(f"parent{suffix}", guardian.name)
        Guardian.objects.filter(pk=guardian.pk).update(user=parent_user)
    return users


def iter_demo_logins() -> Iterator[tuple[str, str]]:
    User = get_user_model()
    for user in User.objects.filter(username__in=[
        "district_admin", "district_staff", "school_admin", "teacher", "student", "parent",
    ]).prefetch_related("grants").order_by("pk"):  # fmt: skip
        yield user.username, str(user)
