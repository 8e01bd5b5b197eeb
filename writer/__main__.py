"""`python -m writer` runs the CLI."""

from writer.cli import main

if __name__ == "__main__":
    main()
