"""The running pipeline: sources in, flags on cases and to queues out, nothing lost."""
