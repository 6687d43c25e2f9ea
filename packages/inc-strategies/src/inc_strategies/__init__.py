"""inc-strategies: INC's strategy family on inc-core's ask/tell base.

Strategies are registered through the ``inc.plugins`` entry point; import a module
(``inc_strategies.auto``...) only to use a class directly. Nothing heavy (scipy,
optuna) is imported until its strategy runs.
"""

__version__ = "0.1.0"
