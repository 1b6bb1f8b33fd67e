"""The Textual dashboard; reads the cluster only through cluster.client."""
