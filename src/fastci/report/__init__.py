"""What people read: the live progress line, the terminal summary, the HTML report."""
