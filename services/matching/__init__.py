"""Search and matching for the marketplace: a library that never imports services.marketplace."""
