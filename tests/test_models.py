import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_genart import losses
from keras_genart.errors import UserInputError
from keras_genart.models import DCGAN, VAE, WGANGP, build_model
from keras_genart.networks import build_discriminator, build_generator
from tests.helpers import TINY, run_model_checks


@pytest.mark.parametrize("loss", ["non_saturating", "minimax", "hinge", "least_squares"])
def test_dcgan_standard_checks(loss, tiny_data, tmp_path):
    model = run_model_checks(
        lambda: build_model("dcgan", loss=loss, seed=1, augmentation=["flip"], **TINY),
        tiny_data, tmp_path)
    assert isinstance(model, DCGAN) and model.loss_kind == loss


def test_wgan_gp_standard_checks(tiny_data, tmp_path):
    model = run_model_checks(
        lambda: build_model("wgan-gp", n_critic=2, seed=1, **TINY), tiny_data, tmp_path)
    assert isinstance(model, WGANGP)
    # n_critic critic updates per generator update.
    assert int(model.d_optimizer.iterations) == 2 * int(model.g_optimizer.iterations)


def test_vae_standard_checks(tiny_data, tmp_path):
    model = run_model_checks(
        lambda: build_model("vae", beta=0.5, seed=1, **TINY), tiny_data, tmp_path)
    assert isinstance(model, VAE)
    assert {m.name for m in model.metrics} == {"loss", "reconstruction_loss", "kl_loss"}
    batch = next(iter(tiny_data))[0]
    mean, log_var = model.encode(batch)
    assert mean.shape == log_var.shape == (4, TINY["latent_dim"])
    assert model(batch).shape == batch.shape


def test_wgan_gp_penalty_matches_hand_computation():
    # A linear critic f(x) = sum(w * x) has gradient w everywhere, so the
    # penalty is (||w|| - 1)^2 whatever the interpolates.
    inputs = keras.Input((4, 4, 1))
    critic = keras.Model(inputs, keras.layers.Dense(1, use_bias=False)(
        keras.layers.Flatten()(inputs)))
    w = np.linspace(-0.3, 0.5, 16).astype("float32").reshape(16, 1)
    critic.set_weights([w])
    gen_in = keras.Input((2,))
    generator = keras.Model(gen_in, keras.layers.Reshape((4, 4, 1))(
        keras.layers.Dense(16, activation="tanh")(gen_in)))
    model = WGANGP(generator, critic)
    real = tf.random.normal((3, 4, 4, 1), seed=1)
    fake = tf.random.normal((3, 4, 4, 1), seed=2)
    penalty = model.penalty(real, fake, tf.constant([0.0, 0.5, 1.0]))
    expected = (np.sqrt(np.sum(w ** 2)) - 1.0) ** 2
    np.testing.assert_allclose(penalty.numpy(), [expected] * 3, rtol=1e-5)


def test_gradient_penalty_is_finite_at_zero_gradient():
    zeros = tf.zeros((2, 3, 3, 1))
    with tf.GradientTape() as tape:
        tape.watch(zeros)
        value = tf.reduce_sum(losses.gradient_penalty(zeros))
    grad = tape.gradient(value, zeros)
    np.testing.assert_allclose(value.numpy(), 2.0, rtol=1e-5)
    assert np.all(np.isfinite(grad.numpy()))


def test_adversarial_losses_known_values():
    real = tf.constant([[2.0], [0.0]])
    fake = tf.constant([[-1.0], [0.0]])
    np.testing.assert_allclose(
        losses.discriminator_loss("hinge", real, fake).numpy(), [0.0, 2.0])
    np.testing.assert_allclose(
        losses.discriminator_loss("non_saturating", real, fake).numpy(),
        [np.log1p(np.exp(-2)) + np.log1p(np.exp(-1)), 2 * np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(
        losses.generator_loss("least_squares", fake).numpy(), [2.0, 0.5])
    np.testing.assert_allclose(
        losses.generator_loss("minimax", fake).numpy(),
        [-np.log1p(np.exp(-1)), -np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(
        losses.kl_divergence(tf.zeros((1, 3)), tf.zeros((1, 3))).numpy(), [0.0])
    with pytest.raises(ValueError, match="unknown adversarial loss 'bogus'"):
        losses.generator_loss("bogus", fake)


@pytest.mark.parametrize("size", [8, 24, 256])
def test_bad_image_size_is_a_clear_error(size):
    with pytest.raises(UserInputError, match=f"image size {size} is not supported.*16, 32, 64, 128"):
        build_model("dcgan", image_size=size)


@pytest.mark.parametrize("size,layers_expected", [(16, 2), (64, 4), (128, 5)])
def test_networks_scale_with_image_size(size, layers_expected):
    g = build_generator(size, 8, base_width=8, max_width=32)
    d = build_discriminator(size, base_width=8, max_width=32)
    assert g.output.shape[1:] == (size, size, 3)
    assert d(g(np.zeros((1, 8), "float32"))).shape == (1, 1)
    transposed = [l for l in g.layers if isinstance(l, keras.layers.Conv2DTranspose)]
    assert len(transposed) == layers_expected


def test_reference_architecture_widths():
    g = build_generator(32, 128, base_width=64)
    assert g.get_layer("project").units == 4 * 4 * 256
    assert [l.filters for l in g.layers if isinstance(l, keras.layers.Conv2DTranspose)] == [128, 64, 3]


def test_minibatch_std_layer():
    from keras_genart.networks.layers import MinibatchStdDev

    x = np.random.default_rng(0).standard_normal((8, 4, 4, 3)).astype("float32")
    out = np.asarray(MinibatchStdDev(group_size=4)(x))
    assert out.shape == (8, 4, 4, 4)
    np.testing.assert_array_equal(out[..., :3], x)
    # Groups are images i, i + 2, i + 4, i + 6 (reshape to (4, 2, ...)): std over them.
    expected = np.sqrt(x.reshape(4, 2, 4, 4, 3).var(axis=0) + 1e-8).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(out[0, 0, 0, 3], expected[0], rtol=1e-5)
    np.testing.assert_allclose(out[1, 2, 2, 3], expected[1], rtol=1e-5)
    # A batch of 6 is not divisible by 4: one group of all six.
    odd = np.asarray(MinibatchStdDev(group_size=4)(x[:6]))
    np.testing.assert_allclose(odd[3, 0, 0, 3], np.sqrt(x[:6].var(axis=0) + 1e-8).mean(),
                               rtol=1e-5)
    # DCGAN gets it by default, WGAN-GP does not.
    assert build_model("dcgan", **TINY).discriminator.get_layer("minibatch_std")
    critic = build_model("wgan-gp", **TINY).discriminator
    assert not any(isinstance(l, MinibatchStdDev) for l in critic.layers)


def test_depth_is_configurable():
    shallow = build_generator(16, 8, base_width=8)
    deep = build_generator(16, 8, base_width=8, blocks_per_stage=2)
    assert len(deep.layers) > len(shallow.layers)


def test_wgan_gp_refuses_batchnorm_critic():
    with pytest.raises(ValueError, match="must not use BatchNormalization"):
        WGANGP(build_generator(16, 8, base_width=8), build_discriminator(16, base_width=8))


def test_mismatched_networks_are_refused():
    with pytest.raises(ValueError, match="discriminator takes"):
        DCGAN(build_generator(16, 8, base_width=8), build_discriminator(32, base_width=8))


def test_compile_rejects_unknown_and_shared_optimizers():
    model = build_model("dcgan", **TINY)
    with pytest.raises(ValueError, match="takes optimizers"):
        model.compile(optimizer="adam")
    shared = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="own optimizer"):
        model.compile(g_optimizer=shared, d_optimizer=shared)


def test_optimizers_are_built_in_compile():
    model = build_model("dcgan", **TINY)
    model.compile(g_optimizer=keras.optimizers.Adam(1e-3), d_optimizer="sgd")
    assert model.g_optimizer.built and model.d_optimizer.built
    assert float(model.g_optimizer.learning_rate) == pytest.approx(1e-3)
    assert model.get_compile_config()["d_optimizer"]["class_name"] == "SGD"


def test_mirrored_strategy_trains_like_one_device():
    # Two logical CPUs: the replicated step must run (optimizer slots built
    # eagerly) and report finite losses.
    from tests.mirrored import run_mirrored

    result = run_mirrored()
    assert result["ok"], result
