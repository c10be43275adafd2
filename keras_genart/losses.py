"""Adversarial losses, penalties and the VAE's KL term, in `keras.ops`.

Each adversarial loss returns per-sample values; models reduce them with
`global_mean` so that training under `tf.distribute` makes the same update as
on one device.
"""

from keras import ops

from keras_genart.options import ADVERSARIAL_LOSSES


def _check(kind):
    if kind not in ADVERSARIAL_LOSSES:
        raise ValueError(
            f"unknown adversarial loss {kind!r}; choose from {', '.join(ADVERSARIAL_LOSSES)}"
        )


def discriminator_loss(kind, real_logits, fake_logits):
    """Per-sample discriminator loss for a loss family.

    Args:
        kind: str. `"non_saturating"` and `"minimax"` (Goodfellow et al. 2014;
            same discriminator loss), `"hinge"` (Lim & Ye 2017),
            `"least_squares"` (Mao et al. 2017) or `"wasserstein"` (Arjovsky et
            al. 2017).
        real_logits: tensor `(batch, 1)`. Discriminator outputs on real images.
        fake_logits: tensor `(batch, 1)`. Outputs on generated images.

    Returns:
        Tensor `(batch,)`.
    """
    _check(kind)
    real, fake = ops.reshape(real_logits, (-1,)), ops.reshape(fake_logits, (-1,))
    if kind in ("non_saturating", "minimax"):
        # -log D(x) - log(1 - D(G(z))) with D = sigmoid(logit), stably.
        return ops.softplus(-real) + ops.softplus(fake)
    if kind == "hinge":
        return ops.relu(1.0 - real) + ops.relu(1.0 + fake)
    if kind == "least_squares":
        return 0.5 * (ops.square(real - 1.0) + ops.square(fake))
    return fake - real


def generator_loss(kind, fake_logits):
    """Per-sample generator loss for a loss family (see `discriminator_loss`)."""
    _check(kind)
    fake = ops.reshape(fake_logits, (-1,))
    if kind == "non_saturating":
        return ops.softplus(-fake)  # -log D(G(z))
    if kind == "minimax":
        return -ops.softplus(fake)  # log(1 - D(G(z)))
    if kind == "least_squares":
        return 0.5 * ops.square(fake - 1.0)
    return -fake  # hinge and wasserstein


def safe_norm(x, axis=-1, epsilon=1e-12):
    """sqrt(sum(x^2) + epsilon): finite value and gradient at x = 0."""
    return ops.sqrt(ops.sum(ops.square(x), axis=axis) + epsilon)


def gradient_penalty(gradients):
    """Per-sample WGAN-GP penalty (||grad||_2 - 1)^2.

    Gulrajani et al., "Improved Training of Wasserstein GANs", 2017
    (https://arxiv.org/abs/1704.00028).

    Args:
        gradients: tensor `(batch, ...)`. Critic gradients at the interpolates.

    Returns:
        Tensor `(batch,)`.
    """
    flat = ops.reshape(gradients, (ops.shape(gradients)[0], -1))
    return ops.square(safe_norm(flat, axis=1) - 1.0)


def r1_penalty(gradients, group=1):
    """Per-sample R1 penalty: the squared norm of the discriminator's gradient.

    Mescheder et al., "Which Training Methods for GANs do actually
    Converge?", 2018 (https://arxiv.org/abs/1801.04406). The regulariser is
    `gamma / 2` times this, at real pictures.

    Args:
        gradients: tensor `(batch, ...)`. Gradients at the real pictures.
        group: int. Consecutive samples judged together (PacGAN packing):
            their squared norms are summed. Defaults to 1.

    Returns:
        Tensor `(batch // group,)`.
    """
    flat = ops.reshape(gradients, (ops.shape(gradients)[0], -1))
    squared = ops.sum(ops.square(flat), axis=1)
    if group > 1:
        squared = ops.sum(ops.reshape(squared, (-1, group)), axis=1)
    return squared


def kl_divergence(mean, log_var):
    """Per-sample KL(N(mean, exp(log_var)) || N(0, I)), summed over latent units."""
    return -0.5 * ops.sum(1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1)
