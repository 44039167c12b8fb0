"""`ecmc docs`: the capability catalog people read, from the IR: per-engine pages, the map
of engines and tables, the caller x capability matrix, lifecycles drawn as state diagrams."""
