"""The baseline of `quality.py`: a plain DCGAN in about 60 lines, with its own training step.

What a user copies from a tutorial (Radford et al. 2015; keras-io's DCGAN): a
batch-norm generator, a discriminator of two stride-2 convolutions and a dense
logit, no augmentation, no normalization in the discriminator, Adam(2e-4, 0.5),
the non-saturating loss, one `tf.function` step.
"""

import numpy as np
import tensorflow as tf
import keras
from keras import layers


def build_generator(image_size=32, latent_dim=128):
    start = image_size // 8
    return keras.Sequential([
        keras.Input((latent_dim,)),
        layers.Dense(start * start * 256, use_bias=False), layers.BatchNormalization(),
        layers.ReLU(), layers.Reshape((start, start, 256)),
        layers.Conv2DTranspose(128, 4, 2, "same", use_bias=False), layers.BatchNormalization(),
        layers.ReLU(),
        layers.Conv2DTranspose(64, 4, 2, "same", use_bias=False), layers.BatchNormalization(),
        layers.ReLU(),
        layers.Conv2DTranspose(3, 4, 2, "same", activation="tanh"),
    ], name="plain_generator")


def build_discriminator(image_size=32):
    return keras.Sequential([
        keras.Input((image_size, image_size, 3)),
        layers.Conv2D(64, 4, 2, "same"), layers.LeakyReLU(0.2),
        layers.Conv2D(128, 4, 2, "same"), layers.LeakyReLU(0.2),
        layers.Flatten(), layers.Dense(1),
    ], name="plain_discriminator")


class PlainDCGAN:
    def __init__(self, image_size=32, latent_dim=128, seed=0):
        keras.utils.set_random_seed(seed)
        self.latent_dim = latent_dim
        self.generator = build_generator(image_size, latent_dim)
        self.discriminator = build_discriminator(image_size)
        self.g_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def train_step(self, real):
        z = tf.random.normal((tf.shape(real)[0], self.latent_dim))
        with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
            fake = self.generator(z, training=True)
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            d_loss = (self.bce(tf.ones_like(real_logits), real_logits)
                      + self.bce(tf.zeros_like(fake_logits), fake_logits))
            g_loss = self.bce(tf.ones_like(fake_logits), fake_logits)
        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables
        self.d_opt.apply_gradients(zip(d_tape.gradient(d_loss, d_vars), d_vars))
        self.g_opt.apply_gradients(zip(g_tape.gradient(g_loss, g_vars), g_vars))
        return d_loss, g_loss

    def generate(self, z):
        images = self.generator(np.asarray(z, np.float32), training=False)
        return np.clip((np.asarray(images) + 1.0) / 2.0, 0.0, 1.0)
