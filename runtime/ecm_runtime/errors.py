"""The one error hierarchy of the runtime: every refusal carries a reason code from the specs.
(ToolFailure is what a provider raises; the runtime answers it with a ToolError.)"""

from __future__ import annotations

from ecm_contract import Role


class StorageError(Exception):
    """A refused or failed call. `reason_code` is always a code a spec declares."""

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(f"{reason_code}: {message}")
        self.reason_code = reason_code
        self.message = message


class CallerRefused(StorageError):
    """The caller class is not one the capability's `allowed_callers` policy admits."""


class ContractViolation(StorageError):
    """The input or the stored data breaks the capability's contract."""


class ReferenceMissing(ContractViolation):
    """A row the input refers to (by a foreign key) does not exist."""


class ScopeViolation(StorageError):
    """A read or write would cross tenants."""


class AppendOnlyViolation(StorageError):
    """An update or delete reached an append-only ledger."""


class ReadOnlyViolation(StorageError):
    """A capability declared `side_effects: NONE` attempted a write."""


class IdempotencyConflict(StorageError):
    """An idempotency key already names another call (another capability or another input);
    `reason_code` is the engine's idempotency code."""


class TransitionInvalid(StorageError):
    """A lifecycle action is not allowed from the current state."""


class StorageUnavailable(StorageError):
    """The database could not be reached, or held a lock past the timeout; nothing of the
    call was committed, and it may be retried."""


class HandlerMissing(StorageError):
    """A handler capability was called and no implementation is registered for it."""


class HandlerFailed(StorageError):
    """A handler raised, answered outside its capability's output type, or tried a statement
    outside its declared side effects."""


class ToolError(StorageError):
    """A tool query failed; `reason_code` is the engine's code, and a fail row was audited."""


class ToolFailure(Exception):
    """Raised by a provider: `role` is a reason-code role (timeout, budget_exceeded,
    policy_block, forbidden_domain, forbidden_tool, provider_error)."""

    def __init__(self, role: Role, message: str) -> None:
        super().__init__(message)
        self.role = role


class UnknownCapability(LookupError):
    """No compiled spec declares this capability id."""
