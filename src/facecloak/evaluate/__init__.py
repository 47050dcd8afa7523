"""Measurements: detection accuracy, recognition verification, image change."""
