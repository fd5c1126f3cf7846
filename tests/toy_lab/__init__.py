"""A toy lab defined inside the tests: registering it must make it appear everywhere a lab appears."""
