"""The Flask layer: app factory, configuration, security headers, patient and API blueprints."""
