"""Member rules (issue 14): contributions, personal-account credits, eligibility and
retirement years, from a policy's `members` blocks, computed month by month for a member's
record. The stages: `syntax.py` (AST) → `rules.py` (compiled, checked rules) → `records.py`
(a member record read and checked) → `months.py` (the month rows) → `sheet.py` / `command.py`."""
