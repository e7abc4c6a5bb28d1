"""The GridFTP fixtures (`ours`, `gct`) live in tests/conftest.py: the GSI tests use them too."""
