"""What a run leaves behind: the result bundle, the timings report, JUnit XML."""
