"""A generated table's facts (ecm_contract.TableFacts), read once from its `info`."""

from __future__ import annotations

import functools

import sqlalchemy as sa
from ecm_contract import TableFacts


@functools.cache
def facts(table: sa.Table) -> TableFacts:
    return TableFacts.of(table.info)
