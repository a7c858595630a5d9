"""Publishing a batch: its grants recorded in the ledger, its files moved into place, and the
manifest that lists them."""
