"""The parts of each benchmark scenario, one package per ``bench/<name>.py``."""
