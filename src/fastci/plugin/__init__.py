"""Everything that runs inside pytest: the plugin, the worker loop, observers, coverage."""
