"""The reason code each engine's wiring names for each kind of refusal (`Reason Code Roles`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from ecm_contract import Role

from ecm_runtime.catalog import CapabilitySpec
from ecm_runtime.errors import ContractViolation, StorageError


class Refusals:
    def __init__(
        self,
        roles: Mapping[str, Mapping[str, str]],
        declared: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self.roles = roles
        """Engine id -> role -> reason code."""
        self.declared = declared or {}
        """Engine id -> every reason code its specs declare (its roles' included)."""

    def check_declared(self, spec: CapabilitySpec, engine_id: str, code: object) -> None:
        """A reason code written to any row is one the specs declare for the row's engine."""
        if code is not None and code not in self.declared.get(engine_id, frozenset()):
            self.refuse(
                spec,
                Role.CONTRACT_VALIDATION,
                ContractViolation,
                f"{spec.id}: reason code {code!r} is not one {engine_id}'s specs declare",
            )

    def code(self, spec: CapabilitySpec, role: Role) -> str:
        """The engine's code for a kind of refusal; its contract-validation code when the
        wiring names none for the role."""
        roles = self.roles.get(spec.engine_id, {})
        code = roles.get(role) or roles.get(Role.CONTRACT_VALIDATION)
        return code or (spec.reason_codes[0] if spec.reason_codes else "")

    def refuse(
        self, spec: CapabilitySpec, role: Role, error: type[StorageError], message: str
    ) -> NoReturn:
        raise error(self.code(spec, role), message)
