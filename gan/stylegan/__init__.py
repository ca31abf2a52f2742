"""StyleGAN2, scaled down for CPUs: its networks (`nets`), and its game and latent tools (`family`)."""
