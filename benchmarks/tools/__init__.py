"""Maintenance tools: scripts a maintainer runs by hand, not part of a suite or the report."""
