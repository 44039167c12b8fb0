"""Stage 6, write: rendered files in, files on disk and a manifest of digests out.

`writer` writes only what changed, atomically, and removes what the specs no longer make;
`manifest` records the BLAKE3 digest of every input spec and output file, so a drift check can
answer "nothing changed" without parsing.
"""
