"""Stage 5, emit: the IR in, the files of the generated package out (as strings).

`plan.plan` lists every file with a fingerprint and a renderer. Each generated file kind has
its view builder: `fields`, `records`, `tables`, `engines` and `package` (the package
`__init__`, `engines/__init__` and `catalog`), over `models` (pydantic models of records and
capability inputs and outputs). Text reaches code only through `literals`; Python names come
from `names`; type annotations from `pytypes`; imports from `imports`; line layout, as ruff
format writes it, from `layout`. Jinja2 templates in `templates/` only place strings.
"""
