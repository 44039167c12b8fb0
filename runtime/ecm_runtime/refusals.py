"""The reason code each engine's wiring names for each kind of refusal (`Reason Code Roles`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from ecm_contract import Role

from ecm_runtime.catalog import CapabilitySpec
from ecm_runtime.errors import StorageError


class Refusals:
    def __init__(self, roles: Mapping[str, Mapping[str, str]]) -> None:
        self.roles = roles
        """Engine id -> role -> reason code."""

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
