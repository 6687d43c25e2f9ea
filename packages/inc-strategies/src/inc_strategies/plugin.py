"""inc plugin of inc-strategies (placeholder until its issue lands)."""
