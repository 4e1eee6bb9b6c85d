"""`python -m automlops` is the `automlops` command."""

from automlops.cli import main

if __name__ == "__main__":
    main()
