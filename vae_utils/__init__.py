"""vae_utils"""
