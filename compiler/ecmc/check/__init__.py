"""Stage 4b, check: the resolved `Program` in, diagnostics out; nothing is changed.

The rules that no single spec can answer: unique engines, capabilities and reason codes,
writes that emit audit events, owned tables that are defined (rules.py); and the names the
runtime relies on, declared by the specs (contract.py).
"""
