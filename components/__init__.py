"""UI wiring: one module per tab; handlers convert widget values and call the engine."""
