"""Frames -> observations: motion gate, detector schedule, detectors, tracker, zones, tamper."""
