"""The fields of a claim, as data: one table read by the claim reader (`claims.py`), checked
against the standard library and the contract by the tests, and the source of any schema.

Each `Field` says its JSON name, its type, whether it is required, its allowed values (fixed
`values`, or the names a policy's vocabulary defines for `kind`), its range, its default, the
fields nested in it, and `feeds`: the vocabulary words ("KIND NAME", or "KIND" for the
dimension its value selects on) the field becomes in the facts clauses select on.
"""

from __future__ import annotations

from typing import Optional

import attrs

# The types a field may have (the reader has one check per type):
#   text    a non-empty string of valid Unicode (no lone surrogate), kept as given
#   person  a text compared as a person: NFC-normalised and stripped of surrounding white space
#   date    a date written YYYY-MM-DD
#   name    one name the vocabulary defines for `kind`
#   names   a list of such names (one string is read as a list of one)
#   choice  one of `values` (strings; a whole number is read as its digits)
#   whole   a whole number from `low` to `high`
#   amount  a decimal amount >= 0 (a string or a number; `fen`: no part smaller than a fen)
#   bool    true or false
#   object  an object with `fields`
#   list    a list of objects with `fields`
TYPES = ("text", "person", "date", "name", "names", "choice", "whole", "amount", "bool", "object", "list")


@attrs.frozen
class Field:
    """One field of a claim, or of an object nested in it."""

    name: str
    type: str = attrs.field(validator=attrs.validators.in_(TYPES))
    required: bool = False
    kind: Optional[str] = None              # name/names: the vocabulary kind of the allowed values
    values: tuple[str, ...] = ()            # choice: the allowed values
    low: Optional[int] = None               # whole: the range
    high: Optional[int] = None
    default: Optional[str] = None           # taken when the field is absent (null or "")
    fen: bool = False                       # amount: whole fen only (a bill's amounts)
    fields: tuple["Field", ...] = ()        # object/list: the nested fields
    feeds: tuple[str, ...] = ()             # vocabulary words it becomes: "measure age", "flag late", "level"
    flag_when: bool = True                  # bool: the flag in `feeds` is set when the value is this
    counts: str = ""                        # date: the measure in `feeds` counts "months" or "days" from it
                                            # to the claim's date, or the "filing-month" (January of the
                                            # claim's year is 1)
    doc: str = ""


def _field(name: str, type: str, doc: str, **kw) -> Field:  # every field is documented (the schema says it)
    return Field(name, type, doc=doc, **kw)


FACILITY_FIELDS = (
    _field("level", "name", "the facility's level (医疗机构级别)", required=True, kind="level", feeds=("level",)),
    _field("grade", "choice", "the grade within its level (甲等 / 乙等)", values=("A", "B"), feeds=("grade",)),
    _field("type", "name", "the kind of facility (医疗机构类型)", kind="type", default="hospital", feeds=("type",)),
    _field("private", "bool", "a private facility (民营)", feeds=("flag private",)),
    _field("beds", "whole", "the facility's number of beds (床位数)", low=0, high=1_000_000, feeds=("measure beds",)),
    _field("specialist", "bool", "a specialist hospital, or the stay was in a specialist ward (专科医院或专科病房)",
           feeds=("flag specialist",)),
)

ENROLMENT_FIELDS = (
    _field("mode", "choice", "standard 统账结合 or pooled-only 单建统筹", values=("standard", "pooled-only"),
           default="standard", feeds=("flag standard-enrolment", "flag pooled-only")),
    _field("since", "date", "the date of enrolment: waiting periods count months from it",
           feeds=("measure months-enrolled",), counts="months"),
    _field("paid_on", "date", "the date the contribution was paid (Binzhou's late payment)",
           feeds=("measure days-since-paid",), counts="days"),
    _field("break_months", "whole", "the months of the last break in contributions (中断缴费月数), 0 for none",
           low=0, high=1200, feeds=("measure break-months",)),
    _field("resumed_on", "date", "the date contributions were paid again after that break (恢复缴费)",
           feeds=("measure months-since-resumed",), counts="months"),
    _field("supplement_rejoined_on", "date", "the date a member paid the supplementary insurance again after "
           "letting it lapse, or renewed after the collection period (断保后重新续保缴费)",
           feeds=("measure months-since-supplement-rejoined",), counts="months"),
    _field("late", "bool", "paid after the collection period (逾期缴费)", feeds=("flag late",)),
    _field("supplement", "bool", "joined the voluntary supplementary insurance", feeds=("flag supplement",)),
    _field("flexible", "bool", "a flexible-employment member (灵活就业人员)", feeds=("flag flexible",)),
    _field("suspended", "bool", "benefits suspended this month: contributions lapsed or unpaid (待遇中断); "
                                "set from the member's record when the run has one", feeds=("flag suspended",)),
)

HISTORY_FIELDS = (
    _field("outpatient_last_year", "bool", "whether the member had an outpatient claim last year",
           feeds=("flag no-outpatient-last-year",), flag_when=False),
    _field("chronic_diseases", "whole", "registered chronic diseases (慢性病种数)", low=0, high=100,
           feeds=("measure chronic-diseases",)),
)

# The personal account (个人账户, accounts.py): each pot's balance before this claim; another
# member's account (家庭共济) names its owner and how the patient is related to them.
ACCOUNT_FIELDS = (
    _field("balance", "amount", "the current-year account's balance before this claim (当年账户余额)", fen=True),
    _field("carried", "amount", "the balance carried from earlier years (历年结余账户余额)", fen=True),
    _field("owner", "person", "whose account pays, when it is not the patient's own (家庭共济)"),
    _field("relation", "name", "how the patient is related to the owner (配偶, 父母, 子女 ...)", kind="relation"),
    _field("used", "bool", "false: the account pays nothing of this claim, its balance kept (the platform's "
                           "acct_used_flag 0)"),
    _field("owner_suspended", "bool", "the owner's benefits are suspended this month (待遇中断); set from the "
                                      "owner's record when the run has one", feeds=("flag payer-suspended",)),
)

ITEM_FIELDS = (
    _field("class", "name", "the catalogue class (费用类别)", required=True, kind="class", feeds=("class",)),
    _field("amount", "amount", "the item's cost in yuan", required=True, fen=True),
    _field("unit_price", "amount", "the price of one unit (materials, partly covered items)"),
    _field("days", "whole", "bed days (床位费)", low=0, high=100_000),
    _field("kind", "name", "the kind of bed, for class bed", kind="bed-kind", default="normal", feeds=("bed-kind",)),
)

CLAIM_FIELDS = (
    _field("id", "text", "the claim's id, unique in a run", required=True),
    _field("person", "person", "whose year the claim accumulates into (NFC, stripped)", required=True),
    _field("date", "date", "discharge or service date: picks the policy year and dated rules", required=True),
    _field("scheme", "name", "the insurance scheme (险种)", required=True, kind="scheme", feeds=("scheme",)),
    _field("benefit", "name", "the kind of care (待遇类别)", required=True, kind="benefit", feeds=("benefit",)),
    _field("status", "name", "employee scheme: employed or retired (人员类别); ignored for residents",
           kind="status", default="employed", feeds=("status",)),
    _field("facility", "object", "where the care was given", required=True, fields=FACILITY_FIELDS),
    _field("place", "name", "where the member sought care (就医地)", kind="place", default="local", feeds=("place",)),
    _field("area", "name", "how far from home: within-region (every local claim), in-province, out-of-province "
           "(就医地范围); a remote claim without it matches no clause that names an area", kind="area",
           feeds=("area",)),
    _field("region_code", "text", "the treatment region's code (就医地医保区划, mdtrtarea_admvs on the national "
           "platform), kept with the claim"),
    _field("groups", "names", "special groups the member belongs to (特殊人群)", kind="group", feeds=("group",)),
    _field("conditions", "names", "the member's listed conditions (疾病)", kind="condition",
           feeds=("condition", "measure diseases")),
    _field("maternity", "names", "the maternity event, or events done together (生育事件)", kind="event",
           feeds=("event",)),
    _field("disease_class", "choice", "Ziyang's class of special disease", values=("1", "2", "3"),
           feeds=("disease-class",)),
    _field("enrolment", "object", "how and since when the member is enrolled", fields=ENROLMENT_FIELDS),
    _field("contracted", "bool", "a family-doctor contract last year (签约)", feeds=("flag contracted",)),
    _field("history", "object", "facts from before this run", fields=HISTORY_FIELDS),
    _field("age", "whole", "age in whole years (computed from birth_date when that is given; a different age "
           "is an error)", low=0, high=150, feeds=("measure age",)),
    # Dated facts of the member's life (contract extension, docs/language.md "Dated facts"): compared
    # with dates (`birth-date <= 1955-12-31`) and read by cohorts; never a group the claim asserts.
    _field("birth_date", "date", "the member's date of birth (出生日期); sets age at the claim's date",
           feeds=("date birth-date", "measure age")),
    _field("work_start", "date", "the date the member started work (参加工作时间)", feeds=("date work-start",)),
    _field("retired_on", "date", "the date the member retired (退休时间)", feeds=("date retired-on",)),
    _field("pregnancy_months", "whole", "whole months of pregnancy", low=0, high=12,
           feeds=("measure pregnancy-months",)),
    _field("babies", "whole", "babies born (1 when a maternity event is given without it)", low=1, high=12,
           feeds=("measure babies",)),
    _field("birth_order", "whole", "which child of the mother this birth is", low=1, high=20,
           feeds=("measure birth-order",)),
    _field("referred_from", "name", "the level of the facility an in-region referral came from", kind="level"),
    _field("wage", "amount", "monthly wage base for the maternity allowance"),
    # Facts the TODO(language) rules of the shipped policies needed (docs/worked-examples.md).
    _field("work_injury", "bool", "the cost is owed by work-injury insurance (应当从工伤保险基金中支付)",
           feeds=("flag work-injury",)),
    _field("third_party", "bool", "the cost is owed by a third party (应当由第三人负担)", feeds=("flag third-party",)),
    _field("public_health", "bool", "the cost is owed by public health (应当由公共卫生负担)",
           feeds=("flag public-health",)),
    _field("abroad", "bool", "the care was abroad (在境外就医)", feeds=("flag abroad",)),
    _field("during_stay", "bool", "an outpatient claim dated during one of the member's stays (住院期间)",
           feeds=("flag during-stay",)),
    _field("observation_only", "bool", "emergency observation not followed by admission (留院观察后未住院)",
           feeds=("flag observation-only",)),
    _field("filed_on", "date", "the date the claim was filed for settlement (报结日期)",
           feeds=("measure filing-month",), counts="filing-month"),
    _field("account", "object", "the personal account that may pay the patient's share", fields=ACCOUNT_FIELDS),
    _field("items", "list", "the bill: one entry per catalogue class", required=True, fields=ITEM_FIELDS),
)


def walk(fields: tuple[Field, ...] = CLAIM_FIELDS, prefix: str = ""):
    """Every field with its dotted path (`facility.level`, `items[].amount`), parents first."""
    for f in fields:
        path = prefix + f.name
        yield path, f
        if f.fields:
            yield from walk(f.fields, path + ("[]." if f.type == "list" else "."))


def date_fields() -> dict[str, tuple[str, ...]]:
    """Each dated fact a date field feeds (`birth-date` -> ("birth_date",)): a clause compares it
    with a date; the facts keep it as its day number (date.toordinal())."""
    return {word[len("date "):]: tuple(path.split("."))
            for path, f in walk() if f.type == "date" for word in f.feeds if word.startswith("date ")}


def fed_words() -> frozenset[str]:
    """Every "KIND NAME" (measure, flag, date) and every "KIND" (a dimension a field's value
    names) some claim field feeds: what a defined name must be among to be fed at all."""
    return frozenset(word for _, f in walk() for word in f.feeds)


def feeders(word: str) -> list[str]:
    """The claim fields (dotted paths) that feed a vocabulary word ("measure age")."""
    return [path for path, f in walk() if word in f.feeds]


# A choice field's values become names with a prefix (facility.grade "A" -> grade-A, disease_class
# 2 -> class-2: claims.facts_of).
CHOICE_PREFIX = {"grade": "grade-", "disease-class": "class-"}


def measure_fields() -> dict[str, tuple[str, ...]]:
    """Each measure a whole-number claim field feeds directly, and that field's path of keys
    (`age` -> ("age",), `beds` -> ("facility", "beds")). Measures computed from other fields
    (months-enrolled from a date, diseases from the conditions) are not here."""
    return {word[len("measure "):]: tuple(path.split("."))
            for path, f in walk() if f.type == "whole" for word in f.feeds if word.startswith("measure ")}
