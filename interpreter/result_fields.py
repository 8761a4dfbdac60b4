"""The fields of a result, as data: the table `policy.to_json` writes results by, and the
source of the result schema (`schema.py`). One field of the engine's result that is not here
is a bug the builder reports, so the table and the results cannot drift apart.
"""

from __future__ import annotations

from typing import Optional

import attrs

# money  a decimal string with two decimals (`"7917.00"`), from a Decimal
# funds  an object: fund layer name -> money
# text   a string;  whole  a whole number;  name  a vocabulary name (`kind`)
# steps  the trace: a list of objects with TRACE_STEP_FIELDS
TYPES = ("money", "funds", "text", "whole", "name", "steps")


@attrs.frozen
class ResultField:
    name: str
    type: str = attrs.field(validator=attrs.validators.in_(TYPES))
    required: bool = True
    kind: Optional[str] = None
    nullable: bool = False
    doc: str = ""


RESULT_FIELDS = (
    ResultField("id", "text", doc="the claim's id"),
    ResultField("person", "text", doc="whose year the claim accumulated into"),
    ResultField("year", "whole", doc="the policy year of the claim's date"),
    ResultField("benefit", "name", kind="benefit", doc="the claim's benefit"),
    ResultField("total", "money", doc="the sum of the items"),
    ResultField("excluded", "money", doc="outside the catalogue, and parts over a price ceiling"),
    ResultField("prepay", "money", doc="personal pre-payments: class shares and the first share of care elsewhere"),
    ResultField("eligible", "money", doc="total - excluded - prepay: the in-scope amount"),
    ResultField("deductible", "money", doc="the deductible charged on this claim"),
    ResultField("paid", "funds", doc="what each fund layer of the claim's scheme paid"),
    ResultField("patient", "money", doc="total - the sum of paid"),
    ResultField("account", "money", doc="the part of patient paid from a personal account (个人账户支付)"),
    ResultField("cash", "money", doc="patient - account: what the patient pays in cash (现金支付)"),
    ResultField("account_balance", "money", required=False,
                doc="the balance left in the personal account the claim used, after it (个人账户余额, the "
                    "platform's balc); absent when no balance is known"),
    ResultField("allowance", "money", required=False, doc="maternity allowance (生育津贴), paid besides the bill"),
    ResultField("trace", "steps", required=False, doc="the calculation steps (absent with --no-trace)"),
)

TRACE_STEP_FIELDS = (
    ResultField("step", "text", doc="what the step computed"),
    ResultField("amount", "money", required=False),
    ResultField("line", "whole", required=False, doc="the policy line of the clause"),
    ResultField("cite", "text", required=False, doc="the article the clause cites"),
    ResultField("detail", "text", required=False),
)

ERROR_FIELDS = (
    ResultField("code", "text", doc="missing-field, unknown-field, unknown-value, bad-value, bad-amount, bad-date, "
                                    "not-covered, no-clause, outside-period, duplicate-id, bad-input, internal …"),
    ResultField("message", "text"),
    ResultField("field", "text", required=False, nullable=True, doc="the claim field at fault (null when none)"),
)
