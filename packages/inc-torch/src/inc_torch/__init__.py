"""inc-torch: see the package README."""
