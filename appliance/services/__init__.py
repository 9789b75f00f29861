"""Services: the only layer that combines the store with adapters (messaging, queue, hardware)."""
