"""``python -m generator`` runs the grantgen command line."""

from .entry import run

if __name__ == "__main__":
    run()
