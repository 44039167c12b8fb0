"""ecm_runtime: the hand-written runtime the generated ECM package imports."""

from ecm_runtime.catalog import AuditRule, CapabilitySpec
from ecm_runtime.errors import StorageError

__all__ = ["AuditRule", "CapabilitySpec", "StorageError"]
