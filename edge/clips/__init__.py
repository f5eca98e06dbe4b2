"""Pre-roll ring, recorder, MP4 writers, snapshot images and the clip store."""
