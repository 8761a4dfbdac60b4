"""medpolicy: medical-insurance regulations as code.

    import medpolicy
    policy = medpolicy.load("policies/suihua.med")
    result = policy.settle(claim)

The pipeline, one module a stage: parser (text -> AST) -> compiler (AST -> checked
clauses) -> plan (terms: which clauses apply to a claim signature, resolved into plain
data) -> engine/settle (the stages and their arithmetic).
"""

from .errors import ClaimError, Diagnostic, MedCompileError, MedError, MedLoadError, MedSyntaxError, ParameterError
from .policy import Policy, Result, Run, State, check, compile, load

__all__ = [
    "ClaimError", "Diagnostic", "MedCompileError", "MedError", "MedLoadError", "MedSyntaxError",
    "ParameterError", "Policy", "Result", "Run", "State", "check", "compile", "load",
]
__version__ = "0.1.0"
