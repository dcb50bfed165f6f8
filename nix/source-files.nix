# The top-level files and folders of the repository that the package's source keeps: what the
# build and its check phase (the test suite without tests/nix) read. tests/nix/test_package_check.py
# runs the tests that read files or start executables from a copy holding exactly these.
[
  "pyproject.toml"
  "README.md"
  "docs"
  "LICENSE"
  "examples"
  "protocol"
  "providers"
  "scripts"
  "tests"
]
