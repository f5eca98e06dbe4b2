"""The composition root: builds the parts from config, wires them, runs their lifecycle."""
