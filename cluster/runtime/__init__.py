"""Container runtimes: the interface (base) and its fake and process implementations."""
