"""CycleGAN (unpaired translation between two image domains): its networks (`nets`) and its game (`family`)."""
