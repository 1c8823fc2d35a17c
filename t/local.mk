EXTRA_DIST += t/valgrind-run t/lib.sh
