"""One module per command the CLI dispatches to: `build`, `check` (drift), `lint`, `inspect`,
`explain`. Each takes settings and paths and returns what the CLI prints; none prints."""
