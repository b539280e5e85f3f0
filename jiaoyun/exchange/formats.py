"""The import formats: the columns of each kind of file, the headers schools write for
them, and the words they use for each accepted value.

Headers are data, not interface text: the template's headers are Chinese whatever the
viewer's language, and English headers are accepted as synonyms. `docs/data-exchange.md`
documents these tables; keep the two together.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from jiaoyun.exchange.values import GENDERS, key_text


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # the template's header
    synonyms: tuple[str, ...] = ()
    required: bool = False  # the column must be present (and the value, see `value_required`)
    value_required: bool | None = None  # defaults to `required`
    help: Promise | str = ""
    example: str = ""
    max_length: int | None = None
    personal: bool = False  # shown masked to viewers who may not see it
    choices: dict[str, str] = field(default_factory=dict)  # key_text(label) -> stored value

    @property
    def must_have_value(self) -> bool:
        return self.required if self.value_required is None else self.value_required


def _choices(table: dict[str, Iterable[str]]) -> dict[str, str]:
    return {key_text(label): value for value, labels in table.items() for label in labels}


def accepted_labels(column: Column) -> str:
    """The first label of each value, for messages: 男、女."""
    seen: dict[str, str] = {}
    for label, value in column.choices.items():
        seen.setdefault(value, label)
    return "、".join(seen.values())


HOUSEHOLDS = _choices({
    "local": ("本地", "本区", "本区户籍", "区内", "local"),
    "city": ("本市", "市内", "本市外区", "市内其他区", "本市其他区", "city"),
    "outside": ("外市", "市外", "外地", "非本市", "外省", "外省市", "outside"),
})  # fmt: skip
STUDENT_STATUSES = _choices({
    "enrolled": ("在读", "在籍", "在校", "正常", "enrolled"),
    "suspended": ("休学", "suspended"),
    "transferred": ("转出", "已转出", "transferred"),
    "graduated": ("毕业", "已毕业", "graduated"),
})  # fmt: skip
RELATIONS = _choices({
    "father": ("父亲", "父", "爸爸", "father"),
    "mother": ("母亲", "母", "妈妈", "mother"),
    "grandparent": ("祖父母", "祖父", "祖母", "外祖父", "外祖母", "爷爷", "奶奶", "外公", "外婆", "grandparent"),
    "other": ("其他", "其他监护人", "其他亲属", "监护人", "other"),
})  # fmt: skip
TITLES = _choices({
    "professor": ("正高级", "正高级教师", "正高", "professor"),
    "senior": ("高级", "高级教师", "副高级", "副高", "中学高级", "中学高级教师", "senior"),
    # Before the 2015 reform primary teachers had their own ladder: 小学高级 is now 一级.
    "first": ("一级", "一级教师", "中学一级", "中学一级教师", "小学高级", "小学高级教师", "first"),
    "second": ("二级", "二级教师", "中学二级", "中学二级教师", "小学一级", "小学一级教师", "second"),
    "third": ("三级", "三级教师", "中学三级", "小学二级", "小学三级", "third"),
    "none": ("未评", "未定级", "无", "暂无", "见习", "none"),
})  # fmt: skip
QUALIFICATIONS = _choices({
    "doctorate": ("博士", "博士研究生", "doctorate"),
    "master": ("硕士", "硕士研究生", "研究生", "master"),
    "bachelor": ("本科", "大学本科", "学士", "bachelor"),
    "associate": ("大专", "专科", "大学专科", "associate"),
    "secondary": ("中专", "中师", "高中", "高中及以下", "中专及以下", "secondary"),
})  # fmt: skip
TEACHER_STATUSES = _choices({
    "established": ("在编", "编内", "是", "established"),
    "contract": ("合同", "合同制", "聘用", "编外", "临聘", "否", "contract"),
    "seconded": ("借调", "seconded"),
    "retired": ("退休", "retired"),
    "left": ("离职", "调离", "left"),
})  # fmt: skip
# Names schools give subjects that differ from the register's names, by subject code.
SUBJECT_ALIASES: dict[str, tuple[str, ...]] = {
    "politics": ("政治", "思想品德", "思品", "道法", "品德与社会", "品德与生活"),
    "pe": ("体育",),
    "it": ("信息技术", "信息"),
    "psychology": ("心理", "心理健康教育"),
    "preschool": ("幼教", "学前"),
    "labour": ("劳动教育",),
}

_SCHOOL_CODE = Column(
    "school_code", "学校代码", ("学校标识码", "学校编码", "学校编号", "school code"),
    help=_("The school's code in the register. Give the code or the name; empty means the school chosen for the import."),
    example="1440100003", max_length=12,
)  # fmt: skip
_SCHOOL_NAME = Column(
    "school_name", "学校名称", ("学校", "所在学校", "就读学校", "学校全称", "任职学校", "工作单位", "school", "school name"),
    help=_("The school's full name as in the register."), example="越秀区育才中学", max_length=100,
)  # fmt: skip
_GENDER = Column(
    "gender", "性别", ("gender", "sex"), help=_("男 or 女 (also 1 and 2). May be empty when the ID number is given."),
    example="男", choices=GENDERS,
)  # fmt: skip
_BIRTH = Column(
    "birth_date", "出生日期", ("出生年月日", "生日", "birth date", "date of birth"),
    help=_("2012-09-01, 2012/9/1, 20120901 or an Excel date. May be empty when the ID number is given."),
    example="2012-09-01",
)  # fmt: skip
_ID = Column(
    "id_number", "身份证号", ("身份证号码", "身份证件号", "身份证件号码", "公民身份号码", "证件号码", "身份证", "id number"),
    help=_("18 characters with a valid GB 11643 check digit; format the column as text in Excel."),
    example="440104201209010012", max_length=18, personal=True,
)  # fmt: skip

STUDENT_COLUMNS: tuple[Column, ...] = (
    _SCHOOL_CODE,
    _SCHOOL_NAME,
    Column("grade", "年级", ("所在年级", "年级名称", "grade"), required=True,
           help=_("七年级, 初一, 高一, 大班 or the grade number (7)."), example="七年级"),
    Column("class", "班级", ("班级名称", "班号", "所在班级", "class"), required=True,
           help=_("The class number: 3, 3班, (3)班 or 七年级(3)班. The class must exist in the register."),
           example="3"),
    Column("student_no", "全国学籍号", ("学籍号", "学籍号码", "全国学籍号码", "国家学籍号", "学生学籍号", "个人标识码",
                                    "national student number", "student number"),
           required=True, help=_("The student's national student number: the key that identifies the student."),
           example="G440104201209010012", max_length=20),
    Column("name", "姓名", ("学生姓名", "name", "student name"), required=True, example="王小明", max_length=50),
    _GENDER,
    _BIRTH,
    _ID,
    Column("enrolment_year", "入学年份", ("入学年度", "入学时间", "入学年月", "入学日期", "enrolment year"),
           help=_("2023, 2023年 or a date. Empty means the grade's entry year."), example="2023"),
    Column("household", "户籍", ("户籍类型", "户籍性质", "户口性质", "户口类别", "household registration"),
           help=_("本地, 本市 or 外市. Empty means 本地 for a new student and no change otherwise."),
           example="本地", choices=HOUSEHOLDS),
    Column("status", "学籍状态", ("在校状态", "学生状态", "status"),
           help=_("在读, 休学, 转出 or 毕业. Empty means 在读 for a new student and no change otherwise."),
           example="在读", choices=STUDENT_STATUSES),
    Column("address", "家庭住址", ("现住址", "住址", "家庭地址", "居住地址", "address"),
           help=_("Empty means no change."), example="广州市越秀区中山路1号", max_length=200, personal=True),
    Column("guardian1_name", "监护人姓名", ("监护人1姓名", "监护人一姓名", "家长姓名", "家长1姓名", "成员1姓名",
                                       "guardian name", "guardian 1 name"),
           example="王大明", max_length=50),
    Column("guardian1_relation", "与学生关系", ("监护人关系", "监护人1关系", "监护人一关系", "与学生关系1", "家长关系",
                                        "成员1关系", "relation", "guardian 1 relation"),
           help=_("父亲, 母亲, 祖父母 or 其他. Empty means 其他."), example="父亲", choices=RELATIONS),
    Column("guardian1_phone", "监护人电话", ("监护人1电话", "监护人一电话", "监护人手机", "监护人手机号", "监护人联系电话",
                                       "家长电话", "家长手机", "家长手机号", "联系电话", "成员1联系电话",
                                       "guardian phone", "guardian 1 phone"),
           help=_("A mobile or landline number. Guardians are matched by phone number: one guardian for brothers and sisters."),
           example="13800138000", personal=True),
    Column("guardian2_name", "监护人2姓名", ("监护人二姓名", "家长2姓名", "成员2姓名", "guardian 2 name"), max_length=50),
    Column("guardian2_relation", "监护人2关系", ("监护人二关系", "与学生关系2", "家长2关系", "成员2关系",
                                          "guardian 2 relation"), choices=RELATIONS),
    Column("guardian2_phone", "监护人2电话", ("监护人二电话", "监护人2手机", "家长2电话", "家长2手机号",
                                         "成员2联系电话", "guardian 2 phone"), personal=True),
)  # fmt: skip

TEACHER_COLUMNS: tuple[Column, ...] = (
    Column("staff_no", "工号", ("教师工号", "职工号", "教职工号", "教工号", "人员编号", "staff number"), required=True,
           help=_("The teacher's staff number: the key that identifies the teacher."), example="T000123",
           max_length=20),
    Column("name", "姓名", ("教师姓名", "name", "teacher name"), required=True, example="李老师", max_length=50),
    _GENDER,
    _BIRTH,
    _ID,
    Column("phone", "手机号", ("手机号码", "手机", "联系电话", "电话", "phone", "mobile"),
           help=_("Empty means no change."), example="13900139000", personal=True),
    Column("subject", "任教学科", ("学科", "任教科目", "主教学科", "科目", "subject"),
           help=_("A subject of the register by name (语文) or code (chinese)."), example="语文"),
    Column("title", "职称", ("专业技术职务", "专业技术职称", "教师职称", "title", "professional title"), required=True,
           help=_("正高级, 高级, 一级, 二级, 三级 or 未评 (the old 中学/小学 titles too)."), example="一级",
           choices=TITLES),
    Column("qualification", "学历", ("最高学历", "学历层次", "qualification"), required=True,
           help=_("博士, 硕士, 本科, 大专 or 中专."), example="本科", choices=QUALIFICATIONS),
    Column("status", "在编情况", ("编制情况", "编制", "是否在编", "用工性质", "employment status"),
           help=_("在编, 合同, 借调, 退休 or 离职. Empty means 在编 for a new teacher and no change otherwise."),
           example="在编", choices=TEACHER_STATUSES),
    _SCHOOL_CODE,
    Column("school_name", "所在学校", ("学校名称", "学校", "任职学校", "工作单位", "school", "school name"),
           help=_("The school's full name as in the register."), example="越秀区育才中学", max_length=100),
    Column("joined_school_on", "到校时间", ("到校日期", "调入本校时间", "来校时间", "进校时间", "到本校时间",
                                       "joined school on"),
           help=_("The date the teacher came to this school. Empty means no change."), example="2015-09-01"),
    Column("started_teaching_year", "参加工作年份", ("参加工作时间", "参加工作年月", "参加工作日期", "工作年份",
                                              "teaching since"),
           help=_("2005, 2005年 or a date. Empty means no change."), example="2005"),
)  # fmt: skip

CLASS_COLUMNS: tuple[Column, ...] = (
    _SCHOOL_CODE,
    _SCHOOL_NAME,
    Column("grade", "年级", ("所在年级", "年级名称", "grade"), required=True,
           help=_("七年级, 初一, 高一, 大班 or the grade number (7). A missing grade is created."), example="七年级"),
    Column("class", "班级", ("班级名称", "班号", "class"), required=True,
           help=_("The class number: 3, 3班 or (3)班."), example="3"),
    Column("entry_year", "入学年份", ("入学年度", "届别", "entry year"),
           help=_("The grade's entry year, for a new grade. Empty means it is worked out from the school year."),
           example="2025"),
    Column("campus", "校区", ("所在校区", "campus"), help=_("A campus of the school. Empty means no change."),
           example="本部"),
    Column("head_teacher", "班主任工号", ("班主任", "班主任编号", "head teacher"),
           help=_("The staff number of the head teacher, a teacher of the same school. Empty means no change."),
           example="T000123"),
)  # fmt: skip

COLUMNS: dict[str, tuple[Column, ...]] = {
    "students": STUDENT_COLUMNS,
    "teachers": TEACHER_COLUMNS,
    "classes": CLASS_COLUMNS,
}

# Marks of a required column and hints schools add to headers: *姓名, 姓名（必填）,
# 出生日期(yyyy-mm-dd).
_HEADER_NOISE_RE = re.compile(r"^[*＊]+|[*＊]+$|[(（][^)）]*[)）]$")


def header_key(raw: Any) -> str:
    value = key_text(raw)
    previous = None
    while previous != value:
        previous, value = value, _HEADER_NOISE_RE.sub("", value)
    return value


def header_index(columns: Iterable[Column]) -> dict[str, Column]:
    index: dict[str, Column] = {}
    for column in columns:
        for label in (column.header, *column.synonyms):
            index.setdefault(header_key(label), column)
    return index


@dataclass
class HeaderMatch:
    row_number: int
    positions: dict[str, int]  # column key -> cell index
    headers: dict[str, str]  # column key -> the header as written in the file
    ignored: list[str]  # headers not recognised
    duplicates: list[tuple[str, str, Column]]  # (header, earlier header, column)


def match_header(row_number: int, cells: list[Any], columns: Iterable[Column]) -> HeaderMatch:
    index = header_index(columns)
    match = HeaderMatch(row_number=row_number, positions={}, headers={}, ignored=[], duplicates=[])
    for position, cell in enumerate(cells):
        written = str(cell).strip() if cell is not None else ""
        if not written:
            continue
        column = index.get(header_key(cell))
        if column is None:
            match.ignored.append(written)
        elif column.key in match.positions:
            match.duplicates.append((written, match.headers[column.key], column))
        else:
            match.positions[column.key] = position
            match.headers[column.key] = written
    return match
