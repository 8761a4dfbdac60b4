"""Benefit curves as a picture: `med plot` and `med diff --chart` (matplotlib, the `plot` extra).

A panel per benefit × level; in each, what every fund pays and what the patient pays against
the claim's cost, a line style per status. The curves are the exact stretches of `curves.py`
(drawn through their ends and kinks), for the first claim of a year and, thinner, for a second
claim after a large first one, so caps and second layers show.

Chinese labels need a CJK font: the first installed of `CJK_FONTS` is used (Debian's
fonts-wqy-microhei is what CI installs); without one the labels fall back to English.
"""

from __future__ import annotations

import re
import sys
from decimal import Decimal
from typing import Callable, Iterable, Optional

from .curves import Case, Curve, Prober, cases, first_date, probe_grid, trace_curve
from .policy import Policy
from .text import display_width

CJK_FONTS = ("WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Source Han Sans SC",
             "Source Han Sans CN", "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC")
_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
_PATIENT = "#d62728"
_STYLES = {"employed": "-", "retired": "--", None: "-"}


_CJK_FILES = ("wqy", "notosanscjk", "notoserifcjk", "sourcehansans", "simhei", "msyh", "pingfang")


def cjk_font() -> Optional[str]:
    """The name of an installed font that has Chinese glyphs, or None. matplotlib's font cache may
    predate the font's installation, so the system's font files are looked at too."""
    from matplotlib import font_manager
    manager = font_manager.fontManager
    found = _first_cjk(manager)
    if found is None:
        for path in font_manager.findSystemFonts():
            if any(k in path.lower().replace("-", "").replace("_", "") for k in _CJK_FILES):
                manager.addfont(path)
        found = _first_cjk(manager)
    return found


def _first_cjk(manager) -> Optional[str]:
    installed = {f.name for f in manager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def _figure(panels: int):
    import matplotlib
    matplotlib.use("Agg")  # files only: no display is needed or wanted
    import matplotlib.pyplot as plt
    font = cjk_font()
    if font:
        plt.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
        plt.rcParams["axes.unicode_minus"] = False
    cols = min(panels, 4)
    rows = (panels + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.flat[panels:]:
        ax.axis("off")
    return fig, list(axes.flat), font is not None


def _label(policy: Policy, kind: str, name: Optional[str], chinese: bool) -> str:
    if name is None:
        return ""
    word = policy.compiled.vocabulary.words.get((kind, name))
    zh = next((a for a in (word.aliases if word else ()) if any("\u4e00" <= ch <= "\u9fff" for ch in a)), None)
    return f"{name} {zh}" if chinese and zh else name


def _polyline(curve: Curve, fund: str) -> tuple[list[float], list[float]]:
    # Floats only here, for drawing: the money itself stays exact in the curve.
    xs, ys = [], []
    for s in curve.segments:
        for p in (s.lo, s.hi):
            xs.append(float(p.cost))
            ys.append(float(p.value(fund)))
    return xs, ys


# The options that select cases, and how their values are named in a refusal.
_SELECTORS = {"scheme": "schemes", "benefit": "benefits", "level": "levels", "status": "statuses"}


def _panels(policy: Policy, selection: dict) -> dict[tuple, list[list[Case]]]:
    """Lines grouped by panel (scheme, benefit, level): local, no group, one per status, each
    line its candidate cases in the order to try them (_drawn_cases)."""
    candidates = _drawn_cases(policy)
    panels: dict[tuple, list[list[Case]]] = {}
    for c in _selected([line[0] for line in candidates.values()], selection):
        panels.setdefault((c.scheme, c.benefit, c.level), []).append(candidates[(c.scheme, c.benefit, c.level, c.status)])
    return panels


def _drawn_cases(policy: Policy) -> dict[tuple, list[Case]]:
    """Per scheme, benefit, level and status, the cases one line may draw: the benefit's own
    claim, which `cases` lists first, then its variants (each maternity event, each measure's
    bounds, each disease class), tried in turn where the claim before settles nothing (Ziyang's
    special diseases are paid by disease class: a claim without one has no rate). One line of
    each, not all: they would crowd a panel with lines of one label."""
    lines: dict[tuple, list[Case]] = {}
    for c in cases(policy):
        if c.place == "local" and not c.group:
            lines.setdefault((c.scheme, c.benefit, c.level, c.status), []).append(c)
    return lines


def _selected(candidates: list[Case], selection: dict) -> list[Case]:
    """The cases the options select; a value no case has is refused, naming the values there are."""
    picked, given = candidates, []
    for dim, value in selection.items():
        if value is None:
            continue
        there = list(dict.fromkeys(getattr(c, dim) for c in picked if getattr(c, dim)))
        if value not in there:
            within = f" with {' '.join(given)}" if given else ""
            raise ValueError(f"no case of the policy matches --{dim} {value} "
                             f"(its {_SELECTORS[dim]}{within}: {', '.join(there) or 'none'})")
        picked = [c for c in picked if getattr(c, dim) == value]
        given.append(f"--{dim} {value}")
    return picked


def _say(message: str) -> None:
    print(f"med: {message}", file=sys.stderr)


def plot_policy(policy: Policy, out: str, *, params: Optional[dict] = None, scheme: Optional[str] = None,
                benefit: Optional[str] = None, level: Optional[str] = None, status: Optional[str] = None,
                say: Callable[[str], None] = _say) -> int:
    """Draw the benefit curves of a policy into `out` (.png or .svg); returns the number of panels.
    A case no claim of which settles is left out, and `say` is told why."""
    params = dict(params or {})
    policy.bind(params)
    panels = _panels(policy, {"scheme": scheme, "benefit": benefit, "level": level, "status": status})
    grid = _chart_grid(probe_grid(*policy.sources.values()))
    date, first = first_date(policy), grid[-1] / 2
    drawn = {}
    for key, lines in panels.items():
        traced = [t for line in lines if (t := _first_traced(policy, line, params, grid, date, first, say))]
        if traced:
            drawn[key] = traced
    if not drawn:
        raise ValueError("there is no curve to draw: no case selected settles")
    fig, axes, chinese = _figure(len(drawn))
    for ax, traced in zip(axes, drawn.values()):
        _draw_panel(ax, policy, traced, chinese)
        ax.set_title(_title(policy, traced[0][0], chinese), fontsize=9)
    second = f"thin lines: a second claim in the year, after a first claim of {first:,.0f}"
    # A suptitle stands at a fraction of the figure's height (an inch down a 60-panel chart), and
    # tight_layout leaves it out of its reckoning: its lines keep the top of the figure, a fifth
    # of an inch each (about), wrapped to its width (a one-panel chart is 4.2 inches: the second line
    # ran past both edges). Some 12 characters an inch at 10 points; a CJK one is two.
    width, height = fig.get_figwidth(), fig.get_figheight()
    lines = [*_wrapped(policy.title, int(width * 12)), *_wrapped(second, int(width * 12))]
    fig.suptitle("\n".join(lines), fontsize=10, y=1 - 0.05 / height)
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.05 + 0.17 * len(lines)) / height))
    fig.savefig(out)
    return len(drawn)


def _wrapped(text: str, columns: int) -> list[str]:
    """`text` in lines of at most `columns` cells (a CJK character two), broken at spaces where
    it has them, else anywhere."""
    lines, line = [], ""
    for word in re.findall(r"\S+\s*", text) if " " in text else list(text):
        if line and display_width((line + word).rstrip()) > columns:
            lines.append(line.rstrip())
            line = ""
        line += word
    return [*lines, line.rstrip()] if line.strip() else lines


def _title(policy: Policy, case: Case, chinese: bool) -> str:
    """Scheme · benefit · level, and below it what else the panel's claims give: the event of a
    maternity panel, or the disease class (or measure) of a benefit that pays none without it."""
    words = (("scheme", case.scheme), ("benefit", case.benefit), ("level", case.level))
    lines = [" · ".join(x for x in (_label(policy, kind, name, chinese) for kind, name in words) if x)]
    for path, v in case.extra:
        if path == ("maternity",):
            lines.append(_label(policy, "event", v, chinese))
        else:
            shown = " ".join(map(str, v)) if isinstance(v, (tuple, list)) else str(v)
            lines.append(f"{'.'.join(path)} {shown}")
    return "\n".join(lines)


# A panel is some 330 pixels wide: costs a thousandth of its width apart are a third of a pixel
# apart. Kinks pinned to the fen (what `med diff` needs) took three times the probes.
CHART_STEPS = 1000


def _chart_grid(grid: list[Decimal]) -> list[Decimal]:
    """The costs to start from, none closer to the one before than a chart can show (the amounts
    a policy names come with one a fen above, and the small ones all lie in the first pixel)."""
    step = grid[-1] / CHART_STEPS
    kept = [grid[0]]
    for x in grid[1:-1]:
        if x - kept[-1] >= step:
            kept.append(x)
    return [*kept, grid[-1]]


def _first_traced(policy: Policy, line: list[Case], params: dict, grid, date, first: Decimal, say) -> Optional[tuple]:
    """The curves of the line's first case that settles; where none does, the first one's reason
    is said and the line left out."""
    first_said: Optional[list[str]] = None
    for case in line:
        said: list[str] = []
        traced = _traced(policy, case, params, grid, date, first, said.append)
        if traced is not None:
            for message in said:  # (its second claim's, where that settles nothing)
                say(message)
            return traced
        first_said = said if first_said is None else first_said
    for message in first_said or ():
        say(message)
    return None


def _traced(policy: Policy, case: Case, params: dict, grid, date, first: Decimal, say) -> Optional[tuple]:
    """The case's curves, of a first claim and of a second after `first`, or None when no first
    claim settles; a second claim none of which settles has no thin line."""
    curves = []
    for prior in (None, first):
        prober = Prober(policy, case, params, date=date, prior=prior)
        curve = trace_curve(prober, grid, grid[-1] / CHART_STEPS)
        lacking = next((p for p in prober.points.values() if p.error == "missing-parameter"), None)
        if lacking is not None:  # every case would say it: the run is refused instead
            raise ValueError(f"{case.label()}: {lacking.reason}")
        failed = prober.unsettled()
        if failed is not None:
            after = "" if prior is None else f", a second claim after a first of {first:,.0f}"
            say(f"left out of the chart: {case.label()}{after}: {failed.reason}")
            if prior is None:
                return None
            curve = None
        curves.append(curve)
    return case, *curves


def _draw_panel(ax, policy: Policy, traced: Iterable[tuple], chinese: bool) -> None:
    for case, *curves in traced:
        style = _STYLES.get(case.status, "-")
        who = _label(policy, "status", case.status, chinese)
        # The first claim's curve is labelled; the second's, thin and faint, is not.
        for curve, (width, alpha, labelled) in zip(curves, ((1.6, 1.0, True), (0.8, 0.45, False))):
            if curve is None:
                continue
            for i, fund in enumerate((*curve.funds, "patient")):
                colour = _PATIENT if fund == "patient" else _COLOURS[i % len(_COLOURS)]
                name = _label(policy, "fund", fund, chinese) if fund != "patient" else ("patient 个人" if chinese else "patient")
                label = f"{name} {who}".strip() if labelled else None
                ax.plot(*_polyline(curve, fund), style, color=colour, linewidth=width, alpha=alpha, label=label)
    ax.set_xlabel("cost 费用" if chinese else "cost", fontsize=8)
    ax.set_ylabel("paid 支付" if chinese else "paid", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, loc="upper left")


def plot_diff(report, out: str, *, limit: int = 4) -> int:
    """Draw the old and new curves of the cases `med diff` found changed (the first `limit`)."""
    effects = [e for e in report.effects if not e.second][:limit] or list(report.effects[:limit])
    if not effects:
        raise ValueError("nothing changed: there is no curve to draw")
    fig, axes, chinese = _figure(len(effects))
    for ax, e in zip(axes, effects):
        funds = sorted({s.fund for s in e.stretches})
        if e.refused is not None:  # only the version that settles the case has a curve to draw
            which = "new" if e.refused[0] == "old" else "old"
            funds = [*getattr(e, which).funds, "patient"]
        for i, fund in enumerate(funds):
            colour = _PATIENT if fund == "patient" else _COLOURS[i % len(_COLOURS)]
            if e.refused is None or e.refused[0] != "old":
                ax.plot(*_polyline(e.old, fund), "--", color=colour, linewidth=1.2, label=f"{fund} old")
            if e.refused is None or e.refused[0] != "new":
                ax.plot(*_polyline(e.new, fund), "-", color=colour, linewidth=1.6, label=f"{fund} new")
        ax.set_title("\n".join([e.title(), *(_wrapped(e.refusal(), 64) if e.refused is not None else ())]), fontsize=8)
        ax.set_xlabel("cost 费用" if chinese else "cost", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6, loc="upper left")
    fig.tight_layout()
    fig.savefig(out)
    return len(effects)
