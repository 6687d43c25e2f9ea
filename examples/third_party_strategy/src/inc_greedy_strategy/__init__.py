"""inc-greedy-strategy: a third-party inc strategy (see ``strategy.py``)."""
