"""The police dashboard: live alerts with their clips, the fleet board and acknowledgements,
behind a login (``edge receive --http HOST:PORT``)."""
