"""Motion gates: the interface and the background-model gate."""
