"""The embedded Kubernetes-shaped cluster engine. Knows nothing about Redis HA."""
