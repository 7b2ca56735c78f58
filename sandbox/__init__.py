"""Sandbox fleet: Docker test hosts on one machine, each with its own address, SSH and engine.

Run as ``python -m sandbox <command>``; the library entry points live in :mod:`sandbox.fleet`.
"""
