"""Datasets: the spec and registry (`spec`), then one module per source (toy, images, digits, folders, pairs, stacked)."""
