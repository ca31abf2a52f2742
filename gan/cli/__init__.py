"""The headless CLI, `python -m gan ...`: the entry point (`main`) and one module per command group."""
