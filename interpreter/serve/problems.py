"""A refused request: an HTTP status and the contract's error object."""

from __future__ import annotations

from typing import Optional


class ApiError(Exception):
    """Refuse a request (or one claim of a batch) with `status` and the contract's error
    object `{"id": ..., "error": {"code", "message", "field"}}`."""

    def __init__(self, status: int, code: str, message: str, field: Optional[str] = None,
                 claim_id: Optional[str] = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.claim_id = claim_id

    def body(self) -> dict:
        return {"id": self.claim_id, "error": {"code": self.code, "message": self.message, "field": self.field}}
