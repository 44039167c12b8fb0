"""Stages 1-3, the front end: spec bytes in, syntax out.

`reader` finds spec files and decodes their bytes (with a BLAKE3 digest each); `markdown`
turns markdown-it-py tokens into a section tree whose every node has a span; `bullets` and
`keys` read `key: value` blocks; `type_grammar` parses type expressions; `extract` lowers a
section tree into the syntax of an ECM spec or a companion spec (`syntax`). Nothing here knows
what a name means: that is `ecmc.resolve`.
"""
