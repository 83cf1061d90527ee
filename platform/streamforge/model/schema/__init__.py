"""The typed model: one module per kind of file (env, component, service) and per part of an
env (nodes, provider), with the shared building blocks (base) and address parsers (addresses).
"""
