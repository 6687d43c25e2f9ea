"""inc-strategies: see the package README."""
