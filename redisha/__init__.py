"""redisha: a Redis high-availability sandbox on an embedded Kubernetes-shaped cluster."""

__version__ = "0.1.0"
