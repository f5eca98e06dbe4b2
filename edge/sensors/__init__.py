"""GPIO inputs and outputs (gpiozero, pin factory injected)."""
