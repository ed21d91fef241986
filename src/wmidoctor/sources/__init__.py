"""Fill Evidence sections from artifacts (bundles, mounted volumes, live collection)."""
