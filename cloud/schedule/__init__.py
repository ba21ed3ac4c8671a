"""Supervision schedule (监管计划): a frequency per enterprise becomes patrol tasks with due windows and officers."""
