"""The message catalogue: each diagnostic's English text and its Chinese, in one place.

The checker words its messages in English where it finds the problem; this catalogue gives
the Chinese for each, as a pattern over the English message (its variable parts captured)
and a template. Both the CLI (`med check --lang`) and the language server translate
through `localise`, so an author sees one language everywhere.

The language is, in order: the one asked for (`--lang`, the server's `lang`
initialization option), the locale (LC_ALL, LC_MESSAGES, LANG starting `zh`), else the
language of the policy's own keywords (an all-Chinese policy gets Chinese messages).
A message the catalogue does not know stays English: never a wrong translation.
The command line's own words (summaries such as `5 passed, 0 failed`, `med test`'s lines,
"could not be settled", usage errors) are in the same catalogue, so `med check`, `med run`
and `med test` speak the language their diagnostics do.
"""

from __future__ import annotations

import functools
import os
import re
from typing import Mapping, Optional

import attrs

from .errors import Diagnostic
from .keywords import BY_SPELLING

LANGUAGES = ("en", "zh")

# (English pattern, Chinese template). Groups are re-inserted by name; `{q}` quantities and
# kinds go through _WORDS.
_CATALOGUE: tuple[tuple[str, str], ...] = (
    (r"unknown word `(?P<w>[^`]+)`", "无法识别的词 `{w}`"),
    (r"unknown (?P<kind>[\w-]+ )?name `(?P<w>[^`]+)`", "未定义的{kind}名称 `{w}`"),
    (r"unknown parameter `(?P<w>[^`]+)`", "未声明的参数 `{w}`"),
    (r"did you mean `(?P<w>[^`]+)`\?(?P<rest>.*)", "是否应为 `{w}`？{rest}"),
    (r"unexpected (?P<found>.+?); expected (?P<exp>.+)", "此处不应出现{found}；应为 {exp}"),
    (r"unexpected (?P<found>.+)", "此处不应出现{found}"),
    (r"the file ends in the middle of a clause", "文件在条款中途结束"),
    (r"quotes must be straight \(\"\), not (?P<ch>.+)", "引号须用半角直引号 (\")，而非 {ch}"),
    (r"unexpected full-width (?P<ch>.+?): use it only inside quotes or comments",
     "全角字符 {ch} 只能用在引号或注释中"),
    (r"this line's indentation matches no enclosing block", "本行的缩进与任何上层块都不对齐"),
    (r"unexpected indentation: only a line that opens a block may be followed by indented lines",
     "缩进有误：只有开启一个块的行之后才能缩进"),
    (r"this sets (?P<q>.+?) for the same claims as line (?P<n>\d+), differently",
     "本条与第 {n} 行对相同的就医情形规定了不同的{q}"),
    (r"ambiguous (?P<q>.+?): this clause and line (?P<n>\d+) both apply to claims with (?P<what>.+), "
     r"and neither is more specific",
     "{q}有歧义：本条与第 {n} 行都适用于 {what} 的情形，且两者都不比对方更具体"),
    (r"add a clause for the overlap, or mark the one that wins as `exception`",
     "为重叠部分另写一条，或把应优先的一条标为 `exception`（例外）"),
    (r"benefit `(?P<b>[^`]+)` of scheme (?P<s>\S+) has no rate for local claims at (?P<at>.+)",
     "险种 {s} 的待遇 `{b}` 缺少以下本地就医情形的报销比例：{at}"),
    (r"add the clause, or `rate 0%` with the article that leaves it out",
     "补上该条款，或写 `rate 0%` 并注明不予支付的条文"),
    (r"a rate of (?P<v>\S+) is over 100%", "报销比例 {v} 超过 100%"),
    (r"a rate cannot be negative", "报销比例不能为负"),
    (r"a rate is a percentage: write (?P<v>\S+)", "报销比例应为百分数：写作 {v}"),
    (r"fund `(?P<f>[^`]+)` needs a base: .*", "基金 `{f}` 需指明支付基数：`on burden`、`on eligible above cap` 或 `on remaining`"),
    (r"the maternity fund pays on the terms of the benefits it pays: write its caps there \(`(?P<eg>[^`]+)`\)",
     "生育保险基金按其支付的待遇的条款支付：限额写在这些待遇上（`{eg}`）"),
    (r"parameter `(?P<p>[^`]+)` is declared twice", "参数 `{p}` 重复声明"),
    (r"the effective period ends before it starts", "施行期的结束日期早于开始日期"),
    (r"`(?P<t>[^`]+)` is not a date", "`{t}` 不是有效日期"),
    (r"this line selects claims but sets nothing; add a setting or an indented block",
     "本行选定了就医情形却未作任何规定；请加上设置或缩进的子块"),
    (r"cannot read (?P<p>.+?): (?P<why>.+)", "无法读取 {p}：{why}"),
    (r"expected (?P<exp>.+)", "应为 {exp}"),
    (r"`use` names a module \(a \.med file beside the policy, or the standard library\), not a path",
     "`use`（引用）后应是模块名（与本办法同目录的 .med 文件或标准库），不能是路径"),
    (r"write `use NAME` for NAME\.med beside the policy", "同目录的 NAME.med 写作 `use NAME`"),
    (r"no module `(?P<m>[^`]+)` in the standard library", "标准库中没有模块 `{m}`"),
    (r"a clause about item classes sets prepay, ceiling or rate, not (?P<q>\S+)",
     "关于费用类别的条款只能规定先行自付、限价或比例，不能规定 {q}"),
    (r"this line can never apply: its (?P<dim>\S+) contradicts the block it is in",
     "本行永远不会适用：它的{dim}与所在块相矛盾"),
    (r"a layer may be declared again only `for` other benefits", "同一层级只能 `for`（针对）其他待遇再次声明"),
    (r"the number (?P<n>\S+) is too large \(numbers stay below (?P<max>\S+)\)", "数字 {n} 过大（须小于 {max}）"),
    (r"blocks are nested more than (?P<n>\d+) deep", "块的嵌套超过 {n} 层"),
    (r"more than (?P<n>\d+) clauses in one file", "一个文件中的条款超过 {n} 条"),
    (r"the file is larger than (?P<n>\d+) bytes", "文件超过 {n} 字节"),
    (r"byte (?P<b>0x[0-9a-f]+) is not UTF-8: save the file as UTF-8", "字节 {b} 不是 UTF-8 编码：请以 UTF-8 保存文件"),
    # dated facts, cohorts, `and`, names fed by claim fields (issue 9)
    (r"nothing feeds (?P<k>[\w-]+) `(?P<w>[^`]+)`: the claim's field gives only (?P<v>.+)",
     "没有就医记录字段提供{k} `{w}`：该字段只给出 {v}"),
    (r"nothing feeds (?P<k>[\w-]+) `(?P<w>[^`]+)`: no claim field gives it, so a clause on it would never match",
     "没有就医记录字段提供{k} `{w}`：基于它的条款永远不会适用"),
    (r"the (?P<k>[\w-]+)s a claim gives: (?P<v>.+)", "就医记录能提供的{k}：{v}"),
    (r"`(?P<w>[^`]+)` is a date: compare it with a date \(`(?P<e>[^`]+)`\)", "`{w}` 是日期：应与日期比较（`{e}`）"),
    (r"`(?P<w>[^`]+)` is a measure: compare it with a number, not a date", "`{w}` 是数量：应与数字比较，而非日期"),
    (r"a cohort is defined by a condition: `(?P<e>[^`]+)`", "人员分类须由条件定义：`{e}`"),
    (r"only a cohort takes a condition \(`when`\); a (?P<k>[\w-]+) is given by the claim",
     "只有人员分类（cohort）才带条件（`when`）；{k} 由就医记录给出"),
    (r"`not (?P<w>[^`]+)`: a cohort cannot be negated .*", "`not {w}`：人员分类不能取反（其条件涉及多项事实）；请另定义一个分类"),
    (r"cohort `(?P<w>[^`]+)` is defined by itself", "人员分类 `{w}` 的定义引用了自身"),
    (r"`and` joins names of one kind a claim may have several of \((?P<k>[^)]+)\), not (?P<v>.+)",
     "`and`（和）只能连接同一种可多值的名称（{k}），而非 {v}"),
    # ---- the command line: what `med check`, `run` and `test` say besides diagnostics.
    # A group named t_… is itself translated (a message inside a message).
    (r"med: (?P<t_m>.+)", "med：{t_m}"),
    (r"med test: (?P<t_m>.+)", "med test：{t_m}"),
    (r"(?P<name>.+\.med): ok", "{name}：检查通过"),
    (r"(?P<n>\d+) passed, (?P<f>\d+) failed", "{n} 个通过，{f} 个失败"),
    (r"ok    (?P<file>\S+): (?P<name>.+)", "通过  {file}：{name}"),
    (r"FAIL  (?P<where>\S+?): (?P<name>.+?)(?P<cite>  \[.+\])?", "失败  {where}：{name}{cite}"),
    (r"(?P<pad> +)(?P<claim>\S+) (?P<field>\S+): expected (?P<e>.+), got (?P<a>.+?)(?P<clause>  \(.+\))?",
     "{pad}{claim} {field}：应为 {e}，实为 {a}{clause}"),
    (r"no worked examples found \(\*\.test\.toml\)", "未找到算例（*.test.toml）"),
    (r"(?P<e>\d+) of (?P<n>\d+) claims could not be settled", "{n} 条就医记录中有 {e} 条未能结算"),
    (r"  (?P<n>\d+) (?P<code>[\w-]+)(?P<field> \(.+?\))?, first claim (?P<t_id>.+?): (?P<m>.+)",
     "  {n} 条 {code}{field}，首条为 {t_id}：{m}"),
    (r"\(no id\)", "无编号记录"),
    (r"  and (?P<n>\d+) more, for (?P<k>\d+) other reasons?", "  另有 {n} 条，出于其他 {k} 种原因"),
    (r"(?P<where>.+?:\d+): (?P<t_m>.+); skipped", "{where}：{t_m}；已跳过"),
    (r"cannot write (?P<p>.+?): (?P<why>.+)", "无法写入 {p}：{why}"),
    (r"--param takes NAME=VALUE, not (?P<v>.+)", "--param 应写作 NAME=VALUE，而非 {v}"),
    (r"(?P<p>.+): claims are read from (?P<formats>.+) files \(or - for JSON lines on stdin\), not (?P<what>.+)",
     "{p}：就医记录须为 {formats} 文件（或用 - 从标准输入读取 JSON 行），而非 {what}"),
    (r"(?P<p>.+?): columns? (?P<names>.+?) (?:is|are) no claim field: each claim that gives a value there is "
     r"refused \(unknown-field\); leave (?:it|them) out to settle those claims",
     "{p}：列 {names} 不是就医记录的字段：在其中有值的就医记录均不予结算（unknown-field）；去掉这些列方可结算"),
    (r"(?P<r>\d+) claims settled by the columnar engine, (?P<f>\d+) of them by the scalar engine for features "
     r"it does not vectorise", "列式引擎结算 {r} 条就医记录，其中 {f} 条含其尚未向量化的情形，由逐条引擎结算"),
    (r"1 claim settled by the scalar engine inside the columnar engine, for features it does not vectorise",
     "列式引擎中的逐条引擎结算 1 条就医记录（含列式引擎尚未向量化的情形）"),
    (r"1 claim settled by the columnar engine", "列式引擎结算 1 条就医记录"),
    (r"the columnar engine writes Parquet and Arrow results without the trace: --engine scalar writes it",
     "列式引擎写出的 Parquet、Arrow 结果不含计算过程：用 --engine scalar 可写出"),
    (r"the trace is the scalar engine's, claim by claim: --no-trace settles these (?P<n>\d+) claims with the "
     r"columnar engine, far quicker", "计算过程须由逐条引擎逐条结算：加 --no-trace 可由列式引擎结算这 {n} 条就医记录，快得多"),
    (r"--engine batch gives no trace: add --no-trace, or use --engine scalar for the trace",
     "--engine batch 不给出计算过程：请加 --no-trace，或用 --engine scalar 取得计算过程"),
    (r"--engine batch settles claims in the contract's shape: --from/--to nhsa needs --engine scalar",
     "--engine batch 只结算约定格式的就医记录：--from/--to nhsa 须用 --engine scalar"),
    (r"--engine batch does not read member records: --members needs --engine scalar",
     "--engine batch 不读取参保记录：--members 须用 --engine scalar"),
    (r"(?P<f>\w+) output is a file: give -o OUT", "{f} 输出须写入文件：请用 -o 指定"),
    (r"(?P<f>\w+) output needs pyarrow: pip install 'medpolicy\[data\]'", "{f} 输出需要 pyarrow：pip install 'medpolicy[data]'"),
    (r"the columnar engine needs pyarrow and numpy: pip install 'medpolicy\[data\]'",
     "列式引擎需要 pyarrow 和 numpy：pip install 'medpolicy[data]'"),
    # argparse's usage errors
    (r"the following arguments are required: (?P<a>.+)", "缺少以下参数：{a}"),
    (r"unrecognized arguments: (?P<a>.+)", "无法识别的参数：{a}"),
    (r"argument (?P<a>\S+): invalid choice: (?P<v>.+?) \(choose from (?P<c>.+)\)", "参数 {a}：无效的选项 {v}（可选：{c}）"),
    (r"argument (?P<a>\S+): expected one argument", "参数 {a}：需要一个值"),
    (r"argument (?P<a>\S+): invalid (?P<t>\S+) value: (?P<v>.+)", "参数 {a}：无效的 {t} 值 {v}"),
)


@functools.cache
def _compiled() -> tuple:
    """The catalogue's patterns, compiled when a message is first translated (not at import:
    most commands never translate, and every command imports this module)."""
    return tuple((re.compile(p), t) for p, t in _CATALOGUE)


_WORDS = {  # the variable words of messages
    "a whole number": "整数", "whole number": "整数", "a number": "数字", "number": "数字",
    "a name": "名称", "name": "名称", "end of line": "行尾", "indentation": "缩进",
    "the deductible": "起付线", "deductible": "起付线", "the rate": "报销比例", "rate": "报销比例",
    "the cap": "封顶线", "cap": "封顶线", "the limit": "限额", "limit": "限额",
    "level ": "级别", "group ": "人群", "status ": "人员类别", "place ": "就医地", "benefit ": "待遇",
    "fund ": "基金", "measure ": "数量", "scheme ": "险种", "event ": "生育事件", "class ": "费用类别",
    "type": "机构类型", "level": "级别", "status": "人员类别", "place": "就医地", "benefit": "待遇", "group": "人群",
    # why a file cannot be read (the system's words)
    "No such file or directory": "文件不存在", "Permission denied": "没有权限", "Is a directory": "这是一个目录",
    "not a regular file": "不是普通文件", "a file without an extension": "没有扩展名的文件",
}


def translate(text: str, lang: str) -> str:
    """`text` (one message or hint) in `lang`; English, or unknown text, is returned as it is."""
    if lang != "zh" or not text:
        return text
    for pattern, template in _compiled():
        m = pattern.fullmatch(text)
        if m is not None:
            parts = {k: "" if v is None else translate(v, lang) if k.startswith("t_") else _WORDS.get(v, v)
                     for k, v in m.groupdict().items()}
            return template.format(**parts)
    return text


def localise(d: Diagnostic, lang: str) -> Diagnostic:
    """The diagnostic with its message and hint in `lang`."""
    if lang != "zh":
        return d
    return attrs.evolve(d, message=translate(d.message, lang), hint=translate(d.hint, lang) if d.hint else None)


def choose(asked: Optional[str], source: Optional[str] = None, environ: Optional[Mapping[str, str]] = None,
           keywords: Optional[str] = None) -> str:
    """The language of messages: asked for, else the locale, else the policy's keywords
    (`keywords` where known: Policy.keyword_language; else read from `source`)."""
    if asked:
        return "zh" if asked.lower().startswith("zh") else "en"
    environ = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(var)
        if value:
            if value.lower().startswith("zh"):
                return "zh"
            if value not in ("C", "POSIX", "C.UTF-8"):
                return "en"
            break
    if keywords:
        return keywords
    return keyword_language(source) if source else "en"


def asked_in(argv: list[str]) -> Optional[str]:
    """The `--lang` of a command line, read before argparse (whose own errors it words)."""
    for n, arg in enumerate(argv):
        if arg == "--lang" and n + 1 < len(argv):
            return argv[n + 1]
        if arg.startswith("--lang="):
            return arg[len("--lang="):]
    return None


def keyword_language(source: str) -> str:
    """"zh" when most of the policy's keywords are written in Chinese."""
    from .scanner import scan  # only when the language is not asked for nor in the locale

    chinese = english = 0
    for line in source.splitlines()[:400]:
        for t in scan(line):
            kw = BY_SPELLING.get(t.text) if t.kind == "word" else None
            if kw is not None:
                if t.text in kw.chinese:
                    chinese += 1
                else:
                    english += 1
    return "zh" if chinese > english else "en"
