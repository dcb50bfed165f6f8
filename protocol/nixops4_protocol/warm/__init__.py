"""A warm provider process: a per-user server with the provider imported forks a worker per run.

`client.launch` is what a provider's executable runs: a thin client that hands its stdin, stdout,
stderr, arguments, environment, working directory and umask to a worker of the server, or serves
in process when there is no usable server. See docs/performance.md.
"""
