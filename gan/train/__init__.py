"""Training: the trainer that knows no model family (`trainer`), and how it runs (threads, chunks, memory, ranks)."""
