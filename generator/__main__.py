"""``python -m generator`` runs the grantgen command line."""

from generator.entry import run

if __name__ == "__main__":
    run()
