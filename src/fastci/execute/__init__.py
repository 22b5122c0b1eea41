"""Running planned units: the local worker pool, CI shard mode and the worker loop."""
