"""Queue mode: runners of one CI run take units from a shared Redis queue (docs/queue.md)."""
