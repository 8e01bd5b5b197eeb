"""Dataset jobs: many documents from an instructions file, instruction synthesis, Ray scale-out."""
