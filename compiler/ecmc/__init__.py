"""ecmc: a compiler for ECM (Engine Capability Map) specs."""
