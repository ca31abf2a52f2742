"""Restoring images with a trained generator: GAN inversion with a known degradation (project, inpaint,
super-resolve, denoise); `degrade.py` the tasks and their input checks, `invert.py` the latent search."""
