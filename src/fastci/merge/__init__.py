"""One verdict from many shards: reading bundles, judging them, combining coverage."""
