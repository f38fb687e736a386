"""Browser tests of the web UI (a package so its browser fixture closes before other suites run)."""
