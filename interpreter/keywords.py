"""The keyword table: the single source of every structural word of the language.

The grammar's keyword terminals, the Pygments lexer, the TextMate and Vim grammars and
the language server's completion and hover are all generated from `KEYWORDS`. Each
keyword has English and Chinese spellings, all first-class: a file may mix them freely.

Vocabulary (levels, groups, places, benefits ...) is not here: it is defined in the
language itself, in `stdlib/standard.med`.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class Keyword:
    terminal: str            # the grammar terminal
    english: tuple[str, ...]
    chinese: tuple[str, ...]
    meaning: str             # shown on hover

    @property
    def spellings(self) -> tuple[str, ...]:
        return self.english + self.chinese


def _kw(terminal: str, english: str, chinese: str, meaning: str) -> Keyword:
    return Keyword(terminal, tuple(english.split()), tuple(chinese.split()), meaning)


KEYWORDS: tuple[Keyword, ...] = (
    # structure of a file
    _kw("POLICY", "policy", "办法 政策", "The policy header: its name, region and effective dates."),
    _kw("REGION", "region", "地区", "The region (统筹区) the policy governs."),
    _kw("EFFECTIVE", "effective", "施行", "The period in which the policy settles claims (施行期)."),
    _kw("TO", "to", "至", "Ends a period or a band: `effective 2026-01-01 to 2030-12-31`, `65% to 20000`."),
    _kw("USE", "use", "引用", "Brings in another policy file, e.g. `use standard` (标准库)."),
    _kw("PARAMETER", "parameter", "参数", "A figure the city sets each year; a run supplies it (`--param`)."),
    _kw("DEFAULT", "default", "默认", "A parameter's value when a run gives none, with its source: `default 60000 from \"统计公报\"`."),
    _kw("OUT_OF_SCOPE", "out-of-scope", "不涉及", "Articles the policy does not encode, and why: `out-of-scope \"第三条\" \"who administers the fund\"`."),
    _kw("DEFINE", "define", "定义", "Defines vocabulary: the names a selector may use (standard library)."),
    _kw("SCHEME", "scheme", "险种", "A scheme: `employee` 职工医保 or `resident` 居民医保."),
    _kw("FUND", "fund", "基金", "A fund layer that pays part of a claim: basic 统筹, major 大额/大病, supplement, aid, maternity."),
    _kw("EXCEPTION", "exception", "例外", "Marks a clause as an exception: it overrides the general clauses it overlaps."),
    _kw("CITE", "cite", "依据", "The article of the regulation a clause encodes; carried into every trace step."),
    # settings
    _kw("DEDUCTIBLE", "deductible threshold", "起付线 起付标准", "Deductible (起付线): the eligible cost the patient bears before the fund pays; in a layer, its threshold."),
    _kw("RATE", "rate", "比例 报销比例 支付比例", "Rate (报销比例): the share of the cost above the deductible that the fund pays."),
    _kw("CAP", "cap", "封顶线 最高支付限额", "Cap (最高支付限额): the most the fund pays, a year or a day."),
    _kw("LIMIT", "limit", "限额", "Limit (限额): pays the actual cost up to this amount, per claim."),
    _kw("FIXED", "fixed", "定额", "Fixed amount (定额): pays this amount per claim, never more than the eligible cost."),
    _kw("CEILING", "ceiling", "限价", "Price ceiling of an item class: the part above it is excluded (per unit, or a day for beds)."),
    _kw("PREPAY", "prepay", "先行自付", "Pre-payment (个人先行自付): a share the patient pays before anything else."),
    _kw("TERMS", "terms", "参照", "Settles on the terms of another level as if local: `terms level3` (参照三级)."),
    _kw("AS", "as", "视同 按", "`as inpatient`: settled on the terms of another benefit (视同住院); `rate as level3`."),
    _kw("PAID_BY", "paid-by", "由", "The fund that pays a benefit, when it is not the basic fund."),
    _kw("WITH", "with", "含", "A cap shared with other benefits: `cap 550 yearly with outpatient` (含门诊统筹限额)."),
    _kw("ALLOWANCE", "allowance", "津贴 生育津贴", "Maternity allowance (生育津贴): days × monthly wage / 30."),
    _kw("NOT_COVERED", "not-covered", "不予支付", "No fund pays the claim (e.g. in a waiting period 待遇等待期)."),
    _kw("ON", "on", "基于", "The base a layer pays on: `on burden`, `on eligible above cap`, `on remaining`."),
    _kw("FOR", "for", "适用", "The benefits a layer's base counts: `on burden for inpatient special`."),
    _kw("BURDEN", "burden", "个人负担", "The member's cumulative personal burden in the year (个人累计负担)."),
    _kw("ELIGIBLE", "eligible", "政策范围内费用", "The eligible cost (政策范围内费用)."),
    _kw("REMAINING", "remaining", "剩余", "What the earlier layers left of the eligible cost on this claim."),
    _kw("INCLUDING", "including", "包括", "`on burden including prepay`: pre-payments count in the burden."),
    _kw("EXCLUDING", "excluding", "不含", "`on burden excluding above cap of outpatient`: what lies above those benefits' own caps does not count."),
    _kw("FIRST_SHARE", "first-share", "转外自付", "The first personal share of out-of-region care (转外个人负担), as a layer's base may count it."),
    # the personal account (个人账户): what it pays of the patient's share, from which pot, for whom
    _kw("ACCOUNT", "account", "个人账户 账户", "The personal account (个人账户): `account self-pay own-expense family spouse` says what it pays of the patient's share."),
    _kw("CURRENT", "current", "当年", "The current year's account (当年个人账户): `account current self-pay`."),
    _kw("CARRIED", "carried", "历年", "The balance carried from earlier years (历年结余账户): `account carried self-pay own-expense`."),
    _kw("SELF_PAY", "self-pay", "自付 个人自付", "The patient's own share of covered care (个人自付): pre-payments, the deductible and the co-payment."),
    _kw("OWN_EXPENSE", "own-expense", "个人自费 自费部分", "What the patient pays in full (个人自费): items outside the catalogue and costs over a price ceiling."),
    _kw("FAMILY", "family", "共济 家庭共济", "Family mutual aid (家庭共济): the relatives whose claims the account may pay: `family spouse parent child`."),
    _kw("FIRST", "first", "先付 优先支付", "`account first`: the account pays a first segment of the eligible cost before the deductible (账户先行支付)."),
    # modifiers
    _kw("YEARLY", "yearly", "每年 年度", "Per calendar year of the claim's date (一个自然年度)."),
    _kw("DAILY", "daily", "每日 每天", "Per day (日限额)."),
    _kw("REPEAT", "repeat", "递减", "Lowers the deductible by this much for each earlier stay in the year (多次住院递减)."),
    _kw("FLOOR", "floor", "最低", "The lowest a lowered deductible may go (最低不少于)."),
    _kw("FROM", "from", "自", "From a date on, or `none from stay 3` (自第3次住院起)."),
    _kw("UNTIL", "until", "截至", "Up to and including a date."),
    _kw("STAY", "stay", "次", "A stay in the year, counted from 1: `none from stay 3`."),
    _kw("REFERRAL", "referral-difference", "转诊补差", "A referral upward pays only the difference of the deductibles; downward, none."),
    _kw("NONE", "none", "无 不设", "No deductible, no cap."),
    _kw("POINTS", "points", "个百分点 百分点", "Percentage points: `rate + 5 points` (提高5个百分点)."),
    _kw("PLUS", "plus", "提高 增加 上调", "Raises by: `rate plus 5 points` is `rate + 5 points` (比例提高5个百分点)."),
    _kw("MINUS", "minus", "降低 减少 下调", "Lowers by: `deductible minus 100` is `deductible - 100` (起付线降低100元)."),
    _kw("IS", "is", "为", "Reads as nothing, as in the regulation: `起付标准为900元` is `起付标准900元`."),
    _kw("HALVED", "halved", "减半", "Halves a rate or a threshold (减半)."),
    _kw("ABOVE", "above", "以上", "The last band: `75% above`; `on eligible above cap`."),
    _kw("OF", "of", "乘以", "`50% of avg_wage`."),
    _kw("DAYS", "days", "天", "Days of maternity allowance."),
    _kw("EACH_EXTRA", "each-extra", "每增加", "Scales an adjustment by each unit beyond the first: `+ 15 days each-extra babies`."),
    _kw("NOT", "not", "非", "Negates a selector: `not tcm`."),
    _kw("AND", "and", "和 且", "All of several names of one kind: `hypertension and diabetes` (同时患有)."),
    _kw("WHEN", "when", "条件", "A cohort's condition on the claim's facts: `middle-1 when birth-date <= 1955-12-31`."),
    # member rules (issue 14): contributions, account credits, eligibility, retirement years
    _kw("MEMBERS", "members", "参保人", "The member rules of a scheme (参保缴费、个人账户、待遇享受、缴费年限): `members employee`."),
    _kw("CONTRIBUTION", "contribution", "缴费", "A contribution by payer: `contribution basic employer 6.5% individual 2%` (缴费比例)."),
    _kw("BASE", "base", "缴费基数", "The contribution base (缴费基数) and its limits: `base lower base_lower upper base_upper`."),
    _kw("LOWER", "lower", "下限", "The lower limit of the contribution base (缴费基数下限)."),
    _kw("UPPER", "upper", "上限", "The upper limit of the contribution base (缴费基数上限)."),
    _kw("EMPLOYER", "employer", "单位", "The employer as a payer (用人单位缴费)."),
    _kw("INDIVIDUAL", "individual", "个人", "The member as a payer (个人缴费)."),
    _kw("SUBSIDY", "subsidy", "资助", "A subsidy of the member's own contribution (财政资助、资助参保): `subsidy 90%`."),
    _kw("CREDIT", "credit", "划入", "The monthly personal-account credit (个人账户划入): `credit 2% of base`, `credit 70 monthly`."),
    _kw("PENSION", "pension", "养老金", "The member's monthly pension, as a credit's base (基本养老金)."),
    _kw("MONTHLY", "monthly", "每月 按月", "A sum per month (按月定额)."),
    _kw("START", "start", "待遇起始", "When benefits start after the first payment: `start after 1 months` (缴费次月起享受待遇)."),
    _kw("AFTER", "after", "之后", "`start after 1 months`, `lapse after 3 months`."),
    _kw("MONTHS", "months", "个月", "A number of months."),
    _kw("LAPSE", "lapse", "断缴 中断缴费", "Benefits stop after this many months without payment (中断缴费、断保)."),
    _kw("CATCH_UP", "catch-up", "补缴 续保", "A catch-up payment within N months: `catch-up within 6 months retroactive` (补缴、待遇追溯)."),
    _kw("RESTART", "restart", "断保续保", "Beyond every catch-up window, benefits from this many months after the payment month: `restart after 2 months` (without it: as a first enrolment)."),
    _kw("WITHIN", "within", "以内", "The window of a catch-up: `within 3 months`."),
    _kw("RETROACTIVE", "retroactive", "追溯", "A catch-up restores the benefits of the months missed (待遇可追溯)."),
    _kw("WAITING", "waiting", "等待期", "A waiting period (待遇等待期) from the payment month: `waiting 3 months`."),
    _kw("DUE", "due", "缴费截止日", "The day of the month by which a month's contribution is due: `due 25` (每月25日前)."),
    _kw("MINIMUM_YEARS", "minimum-years", "最低缴费年限 累计缴费年限", "The cumulative contribution years a retiree needs (最低缴费年限), by sex and year of retirement."),
    _kw("LOCAL_YEARS", "local-years", "本地缴费年限 实际缴费年限", "The years paid in this region a retiree needs (本市实际缴费年限)."),
    _kw("COUNT", "count", "折算", "Converts other periods into contribution months: `count resident-years as 2 months`, `count early-months halved`."),
    _kw("LUMP_SUM", "lump-sum", "趸缴 一次性缴纳", "The one-off payment of a retiree's missing years: `lump-sum 9% rising 5%` on the last base, or `lump-sum 7% base yearly avg_wage` (一次性趸缴)."),
    _kw("RISING", "rising", "逐年递增", "The yearly rise of the base in a lump sum (缴费基数逐年递增)."),
    _kw("LEAVING", "leaving", "离开", "Selects members who came from another scheme or region: `after leaving employee within 3 months waiting 0 months` (转换险种、转移接续、终止其他保障后参保)."),
    _kw("ELSEWHERE", "elsewhere", "统筹区外", "`after leaving employee elsewhere …`: the scheme left was another region's (转移接续)."),
    _kw("INSURED", "insured", "连续参保", "`after leaving resident insured 24 months …`: at least this many months of continuous cover in the scheme left."),
    _kw("BEYOND", "beyond", "以后", "`after leaving employee beyond 3 months …`: more than N months after leaving (3个月以后)."),
    _kw("PRORATED", "prorated", "按统账年限占比", "A retiree's credit in proportion to the years paid 统账结合 (`credit 70 monthly prorated`)."),
    _kw("NEWBORN", "newborn", "新生儿", "Newborns covered from the birth date when enrolled within the period: `newborn within 90 days`, `newborn within 12 months exempt`."),
    _kw("EXEMPT", "exempt", "免缴", "A newborn's birth-year contribution is waived (免缴出生当年参保费用)."),
    _kw("PREVIOUS_TERMS", "previous-terms", "原档次待遇", "Benefits stay those of the scheme left for N months from the payment month (`previous-terms 6 months`)."),
    _kw("MALE", "male", "男", "Male members (男职工)."),
    _kw("FEMALE", "female", "女", "Female members (女职工)."),
)

BY_SPELLING: dict[str, Keyword] = {s: k for k in KEYWORDS for s in k.spellings}


def terminal_definitions() -> str:
    """The keyword terminals, declared for grammar/med.lark.

    The lexer reads every word as a NAME; the parser's post-lexer turns a NAME whose text
    is a keyword spelling into that keyword's terminal. So a keyword is always a whole
    word, in either language, and can never collide with a name.
    """
    return "%declare " + " ".join(k.terminal for k in KEYWORDS) + "\n"
