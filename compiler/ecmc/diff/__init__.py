"""`ecmc diff`: breaking-change detection on the compiled IR, with capability semantics."""
