"""The legacy video API the current frontend reads: a paged collection and details."""
