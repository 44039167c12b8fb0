"""Stage 6, adopt: a team's existing system in, drafts of the companion specs out.

What `ecmc init` reads besides ECM files: the SQL migrations of the real database (sql.py, with
a real SQL parser), turned into wiring tables whose every guess is marked (tables.py). Nothing
here is on the compile path; it writes Markdown that the compiler then reads like any spec.
"""
