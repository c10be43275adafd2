"""The one recipe that turns a seed into latent vectors.

Every runtime (Keras `generate`, `genart sample`, exported models, the server)
draws latents here, so that the same seed gives the same picture everywhere.
Pure NumPy: no TensorFlow import.
"""

import numpy as np

# The recipe in words, written into exported metadata and PNG provenance.
LATENT_RECIPE = "numpy.random.default_rng(seed).standard_normal((n, latent_dim)).astype(float32)"


def sample_latents(n, latent_dim, seed=0):
    """Draws `n` standard-normal latent vectors for a seed.

    The recipe is `numpy.random.default_rng(seed).standard_normal((n,
    latent_dim))` cast to float32; re-implement exactly that to match
    keras_genart's pictures from another language.

    Args:
        n: int. Number of vectors, at least 1.
        latent_dim: int. Size of each vector.
        seed: int. Non-negative seed. Defaults to 0.

    Returns:
        float32 NumPy array of shape `(n, latent_dim)`.
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if seed is None or int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng(int(seed))
    return rng.standard_normal((n, int(latent_dim))).astype(np.float32)
