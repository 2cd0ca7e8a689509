"""Ray Serve deployments of the note service and the builder that composes them."""
