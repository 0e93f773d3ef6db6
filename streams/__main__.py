"""`python -m streams` is the `wirewatch` command."""

from streams.cli import main

if __name__ == "__main__":
    main()
