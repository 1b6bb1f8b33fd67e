"""Sample operators from the tutorial, built on the cluster engine's client and informers.

They are not part of redisha's Redis HA; they exist so the tutorial's operator step (the
operator-sdk Memcached sample) runs on the embedded cluster exactly as it was written
against a real one.
"""
