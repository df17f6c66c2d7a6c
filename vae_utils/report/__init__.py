"""The study's answers in words, generated from verdict rows: notebook Answer cells, the README's
answer table and results/FINDINGS.md."""
