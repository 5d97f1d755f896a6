//! Black-box tests live in `tests/`: they start the real `ecohub` binary and talk to it over
//! loopback HTTP, as an operator or a partner would. This library is intentionally empty.
