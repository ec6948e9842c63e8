"""Simulation adapters: generated nights meet files and the network here.

The scenarios themselves are pure (`votewire.core.scenario`); this package
writes them to files (`scenario_command`) and sends them to ingest
(`http_sink`), paced by the night's timeline.
"""
