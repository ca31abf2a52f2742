"""The run layer, with no Gradio: runs and their training threads, the manager, snapshots, monitors, storage
and ZeroGPU chunks."""
