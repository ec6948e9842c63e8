"""The local stack's parts; `deploy/stack.py` is the command."""
