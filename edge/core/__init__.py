"""Infrastructure every stage uses: ids, clocks, logging, backoff, queues, errors, lifecycle."""
