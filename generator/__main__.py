"""``python -m generator`` runs the grantgen command line."""

from .cli import main

if __name__ == "__main__":
    main()
