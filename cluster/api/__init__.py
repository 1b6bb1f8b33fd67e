"""Object helpers, validation and defaulting, selectors, errors: the API's vocabulary."""
