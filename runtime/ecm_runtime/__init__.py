"""ecm_runtime: the hand-written runtime the generated ECM package imports.

from ecm_runtime import Runtime
rt = Runtime.open()                                   # ./ecm.sqlite3, or ECM_DATABASE_URL
ctx = rt.context(caller="SELENE_OS", tenant_id="tenant-1")
rt.invoke(ctx, "PH1D_CHAT_COMMIT_ROW", {...})
"""

from ecm_contract.catalog import AuditRule

from ecm_runtime.catalog import CapabilitySpec
from ecm_runtime.context import CallContext
from ecm_runtime.errors import StorageError
from ecm_runtime.results import Written
from ecm_runtime.runtime import Runtime

__all__ = ["AuditRule", "CallContext", "CapabilitySpec", "Runtime", "StorageError", "Written"]
