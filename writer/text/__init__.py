"""Text utilities with no model and no store: word counts and lengths, loops, defects, word tokens."""
