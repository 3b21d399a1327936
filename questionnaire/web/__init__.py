"""The Flask layer: app factory, configuration, security headers and the patient and API blueprints."""
