"""Stage 5, emit: the IR and its lowered catalog in, the files of the generated package out
(as strings).

`plan.plan` lists every file with a fingerprint and a renderer. Each generated file kind has
its view builder: `records`, `tables`, `engines` (one module per engine) and `package` (the
package `__init__`, `engines/__init__` and `catalog`); `fields.py` comes from
`package_names`, which decides every Python name once for the whole package. `models` builds
pydantic models of records and capability inputs and outputs; `contract_literal` states
the lowered catalog's objects (ecm_contract.catalog) by their own fields. Text reaches code
only through `literals`; identifiers come from `names`; type annotations from `pytypes`;
imports from `imports`; line layout, as ruff format writes it, from `layout`. The Jinja2
templates in `templates/` only place strings.
"""
