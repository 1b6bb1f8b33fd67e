"""Controllers that drive the cluster toward the state its objects declare."""
