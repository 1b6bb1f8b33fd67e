"""The demo's writer: a client workload that writes through the primary Service and logs
every acknowledged, failed and lost write (`lines` describes the log format).

It runs as a pod, image `redisha/writer` (`image.writer_image` on the fake backend,
`image.process_image` on the real one), so the dashboard learns how writes fare the way
it learns everything else: through the API, from the pod's log.
"""
