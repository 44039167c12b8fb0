"""`ecmc init`: a team's existing system in (its ECM files, DB wiring documents and SQL
migrations), drafts of the companion specs and a service scaffold out.

The drafts are made from the evidence, every guess marked: tables from the migrations (sql.py,
with a real SQL parser), truth types, keys and acceptance tests from the wiring documents
(wiring_docs.py), bindings, roles, lifecycles, tool paths and records from the ECM text
(bindings.py, roles.py, lifecycles.py, tools.py, records.py), compiled again in rounds until
they build (rounds.py). Nothing here is on the compile path: it writes Markdown that the
compiler then reads like any spec, and `--update` merges into what a team has edited.
"""
