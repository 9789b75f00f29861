"""Services: use cases that combine the store with adapters; they take the `Kiosk` and return frozen views."""
