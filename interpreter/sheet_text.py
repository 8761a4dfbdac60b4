"""The fixed phrases of the calculation sheet (`med explain`), in English and Chinese.

The engine writes its trace notes in English; a Chinese sheet translates the phrases it knows
(a pattern and its Chinese form, applied in order) and leaves any other text as it is, so a
new engine note shows up in English rather than disappearing. Names of the vocabulary
(benefits, levels, funds) come from the policy's own vocabulary, not from here.
"""

from __future__ import annotations

import re
from typing import Callable

LANGUAGES = ("en", "zh")

# The sheet's own words: headings, the summary line.
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "sheet": "calculation sheet", "claim": "claim", "year": "year",
        "step": "step", "amount": "amount", "note": "note", "clause": "clause", "article": "article",
        "paid": "paid", "patient pays": "patient pays", "allowance": "allowance", "account": "account", "cash": "cash",
        "cannot be settled": "cannot be settled", "field": "field", "as above": "(as above)",
        "no id": "(no id)", "no text": "(the regulation beside the policy has no such article)",
    },
    "zh": {
        "sheet": "医疗费用结算单", "claim": "结算单号", "year": "年度",
        "step": "项目", "amount": "金额", "note": "说明", "clause": "条款位置", "article": "依据条文",
        "paid": "基金支付", "patient pays": "个人支付", "allowance": "生育津贴", "account": "个人账户", "cash": "现金",
        "cannot be settled": "无法结算", "field": "字段", "as above": "（同上）",
        "no id": "（无编号）", "no text": "（随政策附带的办法原文中没有此条）",
    },
}

# Step names of the trace (a fund's own steps are its name, `FUND cap`, `FUND base`).
STEPS_ZH: dict[str, str] = {
    "total": "医疗总费用",
    "excluded": "不予支付费用",
    "over ceiling": "超限价部分",
    "prepay": "个人先行自付",
    "eligible": "政策范围内费用",
    "terms": "结算依据",
    "not covered": "不予支付",
    "deductible": "起付线",
    "rate": "支付比例",
    "limit": "限额",
    "fixed": "定额",
    "above cap": "超过限额部分",
    "allowance": "生育津贴",
    "patient": "个人支付",
    "parameter": "参数",
    "account first": "个人账户先行支付",
    "account": "个人账户支付",
    "cash": "现金支付",
}

_NUM = r"(-?[\d.]+)"
_PCT = r"([\d.]+%)"
_NAME = r"([\w\-]+)"

# (pattern, Chinese), applied in order with re.sub. A group written between ⟨ ⟩ in the Chinese is
# a vocabulary name (a level, a benefit), shown by its Chinese alias.
NOTES_ZH: tuple[tuple[str, str], ...] = (
    (r"outside the catalogue or over a price ceiling", "目录外或超过限价的费用"),
    # the personal account (accounts.py)
    (r"current-year account \(当年账户\)", "当年账户"),
    (r"carried-over account \(历年结余账户\)", "历年结余账户"),
    (r"^account \(个人账户\)", "个人账户"),
    (r" pays self-pay and own-expense", "支付自付和自费部分"),
    (r" pays self-pay", "支付自付部分"),
    (r" pays own-expense", "支付自费部分"),
    (rf": balance {_NUM} -> {_NUM}", r"：余额 \1 → \2"),
    (rf" pays the first {_NUM} of the eligible cost, before the deductible", r"在起付线前先行支付政策范围内费用 \1"),
    (r" is empty$", "余额为零"),
    (r"the claim gives no account balance \(account\.balance\)", "结算单未提供个人账户余额"),
    (r"the member is enrolled pooled-only \(单建统筹, enrolment\.mode\) and has no personal account",
     "单建统筹参保人员不建立个人账户"),
    (rf"a member of the {_NAME} scheme has no personal account of their own", r"⟨\1⟩参保人员没有本人的个人账户"),
    (r"the account is not used for this claim \(account\.used false\)", "本次结算不使用个人账户"),
    (r"家庭共济: this pot pays for (.+), not for the owner's (\S+)", r"家庭共济：此账户可支付 \1，不含 \2"),
    (r"a fixed amount \(定额\) settles the claim: no deductible", "定额结算，不计起付线"),
    (r"the basic fund's yearly cap is reached: no deductible", "已达统筹基金年度最高支付限额，不计起付线"),
    (r"^no deductible$", "不设起付线"),
    (rf"stay {_NUM} of the year: none from stay {_NUM}", r"本年度第\1次住院：自第\2次住院起不设起付线"),
    (rf"referred down from {_NAME}: none", r"由⟨\1⟩向下转诊：不设起付线"),
    (rf"referred up from {_NAME}: the difference of the standard deductibles {_NUM} - {_NUM}",
     r"由⟨\1⟩向上转诊：补足起付线差额 \2 − \3"),
    (rf"yearly deductible {_NUM}, {_NUM} already paid", r"年度起付线 \1，本年度已负担 \2"),
    (rf"{_NUM} earlier stay\(s\) this year: - {_NUM} each", r"本年度此前住院\1次，每次递减 \2"),
    (rf"not below {_NUM}", r"最低 \1"),
    (rf"banded over the year's eligible cost {_NUM} -> {_NUM}", r"按年度累计政策范围内费用分段计算：\1 → \2"),
    (rf"\+ {_NUM} points", r"提高\1个百分点"),
    (rf"- {_NUM} points", r"降低\1个百分点"),
    (r"\bhalved\b", "减半"),
    (rf"daily cap {_NUM} leaves {_NUM}", r"日限额 \1，尚余 \2"),
    (rf"yearly cap {_NUM} leaves {_NUM}", r"年度限额 \1，尚余 \2"),
    (r"限额: the actual cost up to the limit", "限额：按实际费用支付，不超过限额"),
    (r"定额: the fixed amount", "定额：按定额标准支付"),
    (r"; (?=burden this year|excess over the thresholds)", "；"),
    (rf"burden this year {_NUM} -> {_NUM}, threshold {_NUM}", r"本年度个人负担 \1 → \2，起付标准 \3"),
    (rf"excess over the thresholds {_NUM} -> {_NUM}", r"超过起付标准部分 \1 → \2"),
    (rf"cost above the {_NAME} cap {_NUM}: no {_NAME} burden", r"超过⟨\1⟩限额 \2 的费用：不计入⟨\3⟩负担"),
    (r"eligible cost above the basic fund's cap", "超过统筹基金最高支付限额的政策范围内费用"),
    (r"what the earlier funds left", "前序基金支付后的剩余费用"),
    (r"^no allowance$", "不享受生育津贴"),
    (rf"{_NUM} days, not computed: the claim gives no wage", r"\1天，未计算：结算单未提供工资基数"),
    (rf"{_NUM} days × {_NUM} / 30", r"\1天 × \2 / 30"),
    (rf"first personal share {_PCT}", r"转外个人先行负担 \1"),
    (rf"class {_NAME}: {_PCT}", r"⟨\1⟩ \2"),
    (rf"{_NAME} above {_NUM}", r"⟨\1⟩超过 \2 的部分"),
    (rf"settled as {_NAME}", r"视同⟨\1⟩结算"),
    (rf"on the local terms of {_NAME}", r"参照本地⟨\1⟩结算"),
    (r"on the local terms$", "按本地待遇结算"),
    (r"^settled ", ""),
    (rf"{_NAME} = (\S+) \(the policy's default; no value given for this run\)", r"\1 = \2（政策默认值，本次未另行提供）"),
)

_COMPILED = tuple((re.compile(p), r) for p, r in NOTES_ZH)
_MARKED = re.compile(r"⟨([^⟩]*)⟩")


def note_zh(note: str, name_zh: Callable[[str], str]) -> str:
    """A trace note in Chinese: every known phrase translated, vocabulary names by `name_zh`."""
    out = note
    for pattern, replacement in _COMPILED:
        out = pattern.sub(replacement, out)
    return _MARKED.sub(lambda m: name_zh(m.group(1)), out)


def step_zh(step: str, name_zh: Callable[[str], str]) -> str:
    """A trace step's name in Chinese: the sheet's steps, a fund by its Chinese name."""
    if step in STEPS_ZH:
        return STEPS_ZH[step]
    for suffix, zh in ((" cap", "限额"), (" base", "计算基数")):
        if step.endswith(suffix):
            return name_zh(step[: -len(suffix)]) + zh
    return name_zh(step)
