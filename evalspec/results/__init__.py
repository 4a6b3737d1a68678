"""After apply: what the launched evaluations produced (the comparison report and its
statistics)."""
