"""The operator tests' fixture; its setup lives in `operator_env`."""

from operator_env import env  # noqa: F401
