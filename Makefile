# Thin wrappers around run.sh, which works on a fresh machine even where make is missing.
.PHONY: dev test bench
dev:
	./run.sh dev
test:
	./run.sh test
bench:
	./run.sh bench
