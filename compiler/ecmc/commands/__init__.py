"""The commands' work, one module each: `lint` (lint and inspect), `build`, `check` (drift),
`diff`, `docs`, `explain`, `init` and `migrations`. None of them prints: cli.py parses the
command line, calls one, and prints."""
