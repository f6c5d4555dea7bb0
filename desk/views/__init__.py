"""One blueprint per area of the desk."""
