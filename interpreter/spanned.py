"""The one place a parse rule's node gets its span (lark's `meta`: where the rule's text is).

The transformers' rule methods build nodes without spans; `spans_from_meta` wraps each so that
the node it returns still without one (`ast.NOSPAN`, the field's default) is given the span of
the text the rule matched. A method that words its span otherwise (a clause's own line, a node
inside a list or inside another node) sets it itself.
"""

from __future__ import annotations

import functools

from . import ast


def spans_from_meta(cls):
    """Class decorator for a lark Transformer with `v_args(meta=True)` (applied before it)."""
    for name, method in list(vars(cls).items()):
        if callable(method) and not name.startswith("_"):
            setattr(cls, name, _spanned(method))
    return cls


def _spanned(method):
    @functools.wraps(method)
    def rule(self, meta, children):
        node = method(self, meta, children)
        if getattr(node, "span", None) is ast.NOSPAN:
            object.__setattr__(node, "span", self._span(meta))  # (frozen: set once, as attrs' __init__ does)
        return node
    return rule
