"""The benchmark's pieces: what is measured (workloads), how (harness), and
how it is shown (report). bench/run.py ties them together."""
