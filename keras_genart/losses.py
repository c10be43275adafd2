"""Adversarial losses, penalties and the VAE's KL term, in `keras.ops`.

Each adversarial loss and penalty returns per-sample values; models reduce
them with `global_mean` so that training under `tf.distribute` makes the same
update as on one device.

The discriminator's regularisers are small callables, as NVlabs' EDM writes
its losses: `GradientPenalty` and `R1Penalty` hold their settings and are
called with the discriminator (a function of pictures) and the pictures.
Under float16 they take the discriminator optimizer's loss scale, for the
input gradient that they differentiate (`input_gradients`).
"""

from keras import ops

from keras_genart import backend as _backend
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


def input_gradients(discriminator, pictures, training, loss_scale=None):
    """Gradients of the discriminator's summed outputs with respect to `pictures`.

    Under float16 a penalty's input gradient is as prone to underflow as the
    loss's gradient that a `keras.optimizers.LossScaleOptimizer` scales: a
    flat discriminator (R1's aim) has per-pixel gradients below float16's
    smallest normal number, and R1 measured at 64 px (TensorFlow, CPU) came
    out 3% (logits' weights scaled by 1e-3) to 35% (1e-4) off its float32
    value. So, as ProGAN and StyleGAN do,
    the outputs are multiplied by the loss scale before the gradient is taken
    and the gradient is divided by it after (in float32).

    Args:
        discriminator: callable `(pictures, training) -> logits`.
        pictures: tensor `(batch, ...)`, float32.
        training: bool. The mode the discriminator runs in.
        loss_scale: scalar tensor or float. The discriminator optimizer's
            loss scale (`LossScaleOptimizer.dynamic_scale`); None for none.
            Defaults to None.

    Returns:
        Tensor shaped like `pictures`.
    """
    def outputs(x):
        logits = discriminator(x, training=training)
        return logits if loss_scale is None else logits * ops.cast(loss_scale, logits.dtype)

    gradients = _backend.current().gradient_wrt_inputs(outputs, pictures)
    return gradients if loss_scale is None else gradients / ops.cast(loss_scale,
                                                                      gradients.dtype)


def _unless_overflowed(penalty, gradients, loss_scale):
    """`penalty`, or zeros when the loss-scaled `gradients` overflowed float16.

    An overflow is what dynamic loss scaling expects now and then: the step
    is to be skipped and the scale halved. A non-finite penalty would reach
    the logs and stop training (`NonFiniteLossGuard`); 0 keeps the logs
    finite, while the penalty's own gradient stays non-finite (0 times the
    overflowed gradient), so the `LossScaleOptimizer` still skips the step
    and halves its scale, as it does for an overflow in the loss's gradient.
    """
    if loss_scale is None:
        return penalty
    finite = ops.all(ops.isfinite(gradients))
    return ops.where(finite, penalty, ops.zeros_like(penalty))


class GradientPenalty:
    """The WGAN-GP regulariser: `(||grad critic(x_hat)|| - 1)^2` per sample.

    Gulrajani et al. 2017 (https://arxiv.org/abs/1704.00028), at the
    interpolates `x_hat = real + alpha * (fake - real)`. The critic runs in
    training mode, as in the step it regularises.

    Args:
        weight: float. lambda: the model adds `weight` times the penalty to
            each sample's loss. Defaults to 10.
    """

    def __init__(self, weight=10.0):
        self.weight = float(weight)

    def __call__(self, discriminator, real, fake, alpha, loss_scale=None):
        """Per-sample penalty (before `weight`).

        Args:
            discriminator: callable `(pictures, training) -> logits`. The critic.
            real: tensor `(batch, ...)`. Real pictures.
            fake: tensor `(batch, ...)`. Generated pictures.
            alpha: tensor `(batch,)`. Interpolation factors in [0, 1].
            loss_scale: scalar tensor. The critic optimizer's loss scale under
                float16 (see `input_gradients`). Defaults to None.

        Returns:
            Tensor `(batch,)`.
        """
        alpha = ops.reshape(alpha, (-1,) + (1,) * (len(real.shape) - 1))
        interpolates = real + alpha * (fake - real)
        gradients = input_gradients(discriminator, interpolates, True, loss_scale)
        return _unless_overflowed(gradient_penalty(gradients), gradients, loss_scale)


class R1Penalty:
    """R1: the squared norm of the discriminator's gradient at real pictures, lazily.

    Mescheder et al. 2018 (https://arxiv.org/abs/1801.04406); lazy
    regularisation as in StyleGAN2 (Karras et al. 2020): computed every
    `interval` discriminator updates and weighted by the interval (0
    between), the same in expectation as R1 at every update, at a sixteenth
    of the cost with the default interval. The discriminator runs in
    inference mode: no batch-norm statistics or spectral-norm power
    iteration are updated by the penalty.

    Args:
        gamma: float. The regulariser is `gamma / 2` times the penalty
            (`weight`).
        interval: int. Discriminator updates between computations. Defaults
            to 1 (every update).
        group: int. Pictures the discriminator judges together (PacGAN
            packing): one penalty per group. Defaults to 1.
    """

    def __init__(self, gamma, interval=1, group=1):
        self.weight = 0.5 * float(gamma)
        self.interval = int(interval)
        self.group = int(group)

    def every_update(self, discriminator, real, loss_scale=None):
        """The penalty itself, per judged sample (before `weight`).

        Args:
            discriminator: callable `(pictures, training) -> logits`.
            real: tensor `(batch, ...)`. Real pictures.
            loss_scale: scalar tensor. The discriminator optimizer's loss
                scale under float16 (see `input_gradients`). Defaults to None.

        Returns:
            Tensor `(batch // group,)`.
        """
        gradients = input_gradients(discriminator, real, False, loss_scale)
        return _unless_overflowed(r1_penalty(gradients, group=self.group), gradients,
                                  loss_scale)

    def __call__(self, discriminator, real, updates, xla=False, loss_scale=None):
        """The lazy penalty at the discriminator's update `updates` (before `weight`).

        Args:
            discriminator: callable `(pictures, training) -> logits`.
            real: tensor `(batch, ...)`. Real pictures.
            updates: int tensor. The discriminator's updates so far (its
                optimizer's `iterations`): R1 is due when it is a multiple
                of `interval`.
            xla: bool. Whether the step is compiled with XLA. Defaults to
                False.
            loss_scale: scalar tensor. See `every_update`. Defaults to None.

        Returns:
            Tensor `(batch // group,)`: `interval` times R1 when due, else 0.
        """
        if self.interval == 1:
            return self.every_update(discriminator, real, loss_scale)
        backend = _backend.current()
        if real.shape[0] is None and xla and backend.XLA_COND_NEEDS_STATIC_BATCH:
            # TensorFlow's XLA failed to differentiate the cond with a batch size that
            # is unknown (a bounded dynamic shape) through the minibatch-std layer:
            # R1 at every update, at its own weight.
            return self.every_update(discriminator, real, loss_scale)
        due = ops.equal(ops.mod(updates, self.interval), 0)
        judged = ops.shape(real)[0] // self.group
        return ops.cond(due,
                        lambda: (self.every_update(discriminator, real, loss_scale)
                                 * float(self.interval)),
                        lambda: ops.zeros((judged,), "float32"))


def kl_divergence(mean, log_var):
    """Per-sample KL(N(mean, exp(log_var)) || N(0, I)), summed over latent units."""
    return -0.5 * ops.sum(1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1)
