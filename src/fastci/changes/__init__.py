"""What a change touched: git, the changed paths, and the gate that decides whether to run."""
