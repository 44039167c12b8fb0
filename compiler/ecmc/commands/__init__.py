"""The commands' work, one module each: `build`, `check` (drift) and `explain`; `lint` and
`inspect` are a front-end run and a renderer, done in cli.py. None of them prints: the CLI
does."""
