"""The `automlops` command and the one place where the worker is put together.

`service` (the generic queue runtime) and `handlers` (the pipeline) know nothing of each other's
construction; `compose` builds settings, clients, routes and the worker from them, and the CLI
calls it. The `local` and `demo` commands also wire in `localcloud`, the embedded AWS.
"""
