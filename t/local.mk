EXTRA_DIST += t/valgrind-run t/lib.sh

# Every Check unit test is also a test program of `make check`.
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
