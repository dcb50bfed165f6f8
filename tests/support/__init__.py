"""Test infrastructure shared by every provider's tests: real servers, process drivers."""
