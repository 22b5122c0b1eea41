"""The dependency wheelhouse: a cache key, a build of every wheel, an offline install."""
