"""The {{ cookiecutter.name }} service: see service.yaml and app.py."""
