"""A library for writing NixOps4 resource providers in Python.

Import from the submodules (`nixops4_protocol.provider`, `.resource`, `.errors`, ...); this package
itself imports nothing, so a provider starts quickly.
"""
