"""The commands' work, one module each: `lint` (lint and inspect), `build`, `check` (drift)
and `explain`. None of them prints: cli.py parses the command line, calls one, and prints."""
