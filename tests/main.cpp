// tests/main.cpp — the Catch2 entry point for the ganglion_tests binary.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
