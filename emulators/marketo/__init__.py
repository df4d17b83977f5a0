"""A Marketo Engage REST emulator: identity, leads, activities, Lead Database objects, limits."""
