"""Offline replay: fold a file of reports with the same core the live pipeline uses."""
