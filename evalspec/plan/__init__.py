"""Planning: refresh the actual state, read what item-level sync needs, and diff.

:func:`evalspec.plan.planner.make_plan` is the only part that talks to the platform;
:func:`evalspec.plan.diff.diff` is pure. This package imports nothing itself, so a command can
start :mod:`evalspec.plan.refresh`'s reads before the spec models are imported.
"""
