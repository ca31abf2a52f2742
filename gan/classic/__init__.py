"""The classic GAN family: MLP and DCGAN networks (`nets`) and the one-D-step-then-one-G-step game (`family`)."""
