"""The dummy-service service: see service.yaml and app.py."""
