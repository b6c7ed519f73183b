"""An example evo-vs-grad plugin: one solver (``plus-es``) and one task (``teacher``).

Nothing here is imported by evo-vs-grad directly: the package declares two entry points in its
``pyproject.toml``, and evo-vs-grad's registries load them (``tasks/plugins.py``).
"""
