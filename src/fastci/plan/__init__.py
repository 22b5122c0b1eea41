"""Which tests exist and where each runs: inventory, timings store, estimates, the planner."""
