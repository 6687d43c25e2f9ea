"""inc plugin of inc-torch (placeholder until its issue lands)."""
