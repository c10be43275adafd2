import keras
import numpy as np
import pytest
from keras import ops

from keras_genart import losses
from keras_genart.errors import UserInputError
from keras_genart.latents import sample_latents
from keras_genart.models import DCGAN, VAE, WGANGP, build_model
from keras_genart.networks import build_discriminator, build_generator
from tests.helpers import TINY, run_model_checks


@pytest.mark.parametrize("loss,parts", [
    pytest.param("non_saturating", {}, marks=pytest.mark.skipif(
        keras.backend.backend() == "jax",
        reason="on JAX the conditional variant below covers the DCGAN checks (20 s each)")),
    # The parts of the new defaults, DiffAugment, a conditional GAN (the five styles
    # of the tiny data) and a gray generator: saved, loaded and continued alike.
    ("hinge", dict(shared_fakes=True, ema=0.99, augmentation=["flip", "translation"],
                   class_names=["bauhaus", "kandinsky", "mondrian", "op_art", "suprematism"],
                   d_final_size=8, gray=True))])
def test_dcgan_standard_checks(loss, parts, tiny_data, tmp_path):
    parts = {"augmentation": ["flip"], **parts}
    model = run_model_checks(
        lambda: build_model("dcgan", loss=loss, seed=1, **parts, **TINY), tiny_data, tmp_path)
    assert isinstance(model, DCGAN) and model.loss_kind == loss
    # build_model's defaults are genart train's: shared fakes and a moving average.
    assert model.shared_fakes == parts.get("shared_fakes", True)
    assert model.ema == parts.get("ema", 0.999) and model.ema_generator is not None
    assert model.class_names == parts.get("class_names")
    assert model.gray == parts.get("gray", False)
    pictures = model.generate(3, seed=0)
    assert pictures.shape[-1] == 3
    assert np.array_equal(pictures[..., 0], pictures[..., 2]) == model.gray


def test_gray_generator_makes_one_channel_and_copies_it():
    for upsampling in ("transpose", "resize"):
        generator = build_generator(16, 8, base_width=8, upsampling=upsampling, gray=True)
        last = generator.get_layer("to_gray")
        assert last.filters == 1 and generator.output.shape[1:] == (16, 16, 3)
        pictures = keras.ops.convert_to_numpy(generator(sample_latents(2, 8, 0)))
        np.testing.assert_array_equal(pictures[..., 0], pictures[..., 1])
        np.testing.assert_array_equal(pictures[..., 1], pictures[..., 2])
        assert pictures.std() > 0
    colour = build_generator(16, 8, base_width=8)
    assert colour.get_layer("to_rgb").filters == 3
    assert not any(layer.name == "gray" for layer in colour.layers)


@pytest.mark.parametrize("loss", ["minimax", "least_squares"])
def test_dcgan_trains_with_the_other_losses(loss, tiny_data):
    # The loss values themselves: test_adversarial_losses_known_values.
    model = build_model("dcgan", loss=loss, seed=1, **TINY)
    model.compile()
    before = [np.array(w) for w in model.generator.get_weights()]
    logs = model.train_on_batch(next(tiny_data)[0], return_dict=True)
    assert all(np.isfinite(v) for v in logs.values())
    assert any(not np.array_equal(a, np.array(b))
               for a, b in zip(before, model.generator.get_weights()))


# And a WGAN-GP with latent-coded classes (the five styles of the tiny data; the
# conditional GAN's labels, read from z by the generator): saved, loaded and continued alike.
@pytest.mark.parametrize("parts", [{}, dict(latent_class_names=[
    "bauhaus", "kandinsky", "mondrian", "op_art", "suprematism"])])
def test_wgan_gp_standard_checks(parts, tiny_data, tmp_path):
    model = run_model_checks(
        lambda: build_model("wgan-gp", n_critic=2, seed=1, **parts, **TINY), tiny_data,
        tmp_path)
    assert isinstance(model, WGANGP)
    assert model.latent_class_names == parts.get("latent_class_names")
    # n_critic critic updates per generator update.
    assert int(model.d_optimizer.iterations) == 2 * int(model.g_optimizer.iterations)


def test_vae_standard_checks(tiny_data, tmp_path):
    # A conditional VAE (the five styles of the tiny data); the unconditional one goes
    # through the CLI and export tests.
    styles = ["bauhaus", "kandinsky", "mondrian", "op_art", "suprematism"]
    model = run_model_checks(
        lambda: build_model("vae", beta=0.5, seed=1, class_names=styles, gray=True, **TINY),
        tiny_data, tmp_path)
    assert isinstance(model, VAE) and model.class_names == styles and model.gray
    assert {m.name for m in model.metrics} == {"loss", "reconstruction_loss", "kl_loss"}
    batch, labels = next(iter(tiny_data))
    mean, log_var = model.encode(batch, labels)
    assert mean.shape == log_var.shape == (4, TINY["latent_dim"])
    assert model([batch, labels]).shape == batch.shape
    pictures = model.generate(2, seed=0, labels="op_art")
    variations = model.vary(pictures[0], n=3, seed=1, spread=0.5, label="op_art")
    assert variations.shape == (3,) + pictures.shape[1:]
    np.testing.assert_array_equal(variations, model.vary(pictures[0], n=3, seed=1, spread=0.5,
                                                         label=3))
    # spread 0: every variation is the reconstruction.
    same = model.vary(pictures[0], n=2, spread=0.0, label="op_art")
    np.testing.assert_allclose(same[1], model.reconstruct(pictures[:1], "op_art")[0], atol=1e-6)
    assert not np.allclose(model.vary(pictures[0], n=3, seed=1, label="op_art",
                                      to_label="bauhaus"), variations)
    with pytest.raises(ValueError, match="conditional: say which class the picture is"):
        model.vary(pictures[0])


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
    rng = np.random.default_rng(1)
    real = ops.convert_to_tensor(rng.standard_normal((3, 4, 4, 1)).astype("float32"))
    fake = ops.convert_to_tensor(rng.standard_normal((3, 4, 4, 1)).astype("float32"))
    penalty = model.penalty(real, fake, ops.convert_to_tensor([0.0, 0.5, 1.0]))
    expected = (np.sqrt(np.sum(w ** 2)) - 1.0) ** 2
    np.testing.assert_allclose(ops.convert_to_numpy(penalty), [expected] * 3, rtol=1e-5)


def test_gradient_penalty_is_finite_at_zero_gradient():
    from keras_genart import backend

    zeros = ops.zeros((2, 3, 3, 1))
    value = ops.sum(losses.gradient_penalty(zeros))
    grad = backend.current().gradient_wrt_inputs(losses.gradient_penalty, zeros)
    np.testing.assert_allclose(ops.convert_to_numpy(value), 2.0, rtol=1e-5)
    assert np.all(np.isfinite(ops.convert_to_numpy(grad)))


def _np(x):
    return ops.convert_to_numpy(x)


def test_adversarial_losses_known_values():
    real = ops.convert_to_tensor([[2.0], [0.0]])
    fake = ops.convert_to_tensor([[-1.0], [0.0]])
    np.testing.assert_allclose(
        _np(losses.discriminator_loss("hinge", real, fake)), [0.0, 2.0])
    np.testing.assert_allclose(
        _np(losses.discriminator_loss("non_saturating", real, fake)),
        [np.log1p(np.exp(-2)) + np.log1p(np.exp(-1)), 2 * np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(
        _np(losses.generator_loss("least_squares", fake)), [2.0, 0.5])
    np.testing.assert_allclose(
        _np(losses.generator_loss("minimax", fake)),
        [-np.log1p(np.exp(-1)), -np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(
        _np(losses.kl_divergence(ops.zeros((1, 3)), ops.zeros((1, 3)))), [0.0])
    with pytest.raises(ValueError, match="unknown adversarial loss 'bogus'"):
        losses.generator_loss("bogus", fake)


@pytest.mark.parametrize("size", [8, 24, 256])
def test_bad_image_size_is_a_clear_error(size):
    with pytest.raises(UserInputError,
                       match=f"image_size: {size} is not supported; choose 16, 32, 64 or 128"):
        build_model("dcgan", image_size=size)


@pytest.mark.skipif(keras.backend.backend() == "jax",
                    reason="network shapes, the same on every backend: checked once")
@pytest.mark.parametrize("size,layers_expected", [(16, 2), (64, 4), (128, 5)])
def test_networks_scale_with_image_size(size, layers_expected):
    g = build_generator(size, 8, base_width=8, max_width=32)
    d = build_discriminator(size, base_width=8, max_width=32)
    assert g.output.shape[1:] == (size, size, 3)
    assert d(g(np.zeros((1, 8), "float32"))).shape == (1, 1)
    transposed = [l for l in g.layers if isinstance(l, keras.layers.Conv2DTranspose)]
    assert len(transposed) == layers_expected


def test_discriminator_final_size_leaves_out_the_widest_stages():
    from keras_genart.config import ModelConfig, TrainConfig, resolve_model

    def convs(d):
        return [l.name for l in d.layers if isinstance(l, keras.layers.Conv2D)]

    assert convs(build_discriminator(32, base_width=8)) == ["down0", "down1", "down2"]
    d8 = build_discriminator(32, base_width=8, final_size=8)
    assert convs(d8) == ["down0", "down1"] and d8.get_layer("logits").input.shape[-1] == 8 * 8 * 16
    def last_side(model):
        flatten = next(l for l in model.discriminator.layers
                       if isinstance(l, keras.layers.Flatten))
        return flatten.input.shape[1]

    assert last_side(build_model("dcgan", **TINY)) == 8  # the defaults
    assert last_side(build_model("wgan-gp", **TINY)) == 4
    assert resolve_model(ModelConfig("wgan-gp")).d_final_size == 4
    for size in (2, 6, 32):
        with pytest.raises(UserInputError, match=f"final size {size}: .* may be 4, 8 pixels"):
            build_model("dcgan", d_final_size=size, **TINY)
    with pytest.raises(UserInputError, match="are for GANs"):
        TrainConfig.from_flat(model="vae", d_final_size=8)


def test_default_discriminator_normalization_follows_the_model():
    def normalized(model):
        return sorted({type(l).__name__ for l in model.discriminator.layers
                       if isinstance(l, (keras.layers.SpectralNormalization,
                                         keras.layers.LayerNormalization,
                                         keras.layers.BatchNormalization))})

    styles = ["bauhaus", "kandinsky"]
    assert normalized(build_model("dcgan", **TINY)) == []  # unconditional: none
    assert normalized(build_model("dcgan", class_names=styles, **TINY)) == [
        "SpectralNormalization"]  # the projection head needs it
    assert normalized(build_model("wgan-gp", **TINY)) == ["LayerNormalization"]
    # Asked for, it is what it says, conditional or not.
    assert normalized(build_model("dcgan", d_normalization="spectral", **TINY)) == [
        "SpectralNormalization"]
    assert normalized(build_model("dcgan", d_normalization="none", class_names=styles,
                                  **TINY)) == []


def test_default_upsampling_is_resize_for_the_conditional_dcgan_only():
    def resized(model):
        return any(isinstance(l, keras.layers.UpSampling2D) for l in model.generator.layers)

    styles = ["bauhaus", "kandinsky"]
    assert resized(build_model("dcgan", class_names=styles, **TINY))
    assert not resized(build_model("dcgan", **TINY))
    assert not resized(build_model("wgan-gp", class_names=styles, **TINY))
    assert not any(isinstance(l, keras.layers.UpSampling2D)
                   for l in build_model("vae", class_names=styles, **TINY).decoder.layers)
    # Asked for, it is what it says.
    assert not resized(build_model("dcgan", class_names=styles, upsampling="transpose", **TINY))
    assert resized(build_model("dcgan", upsampling="resize", **TINY))


@pytest.mark.skipif(keras.backend.backend() == "jax",
                    reason="network widths, the same on every backend: checked once")
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


@pytest.mark.skipif(keras.backend.backend() == "jax",
                    reason="network layers, the same on every backend: checked once")
def test_resize_upsampling_has_no_transposed_convolutions():
    g = build_generator(32, 8, base_width=8, max_width=32, upsampling="resize")
    assert g.output.shape[1:] == (32, 32, 3)
    assert not [l for l in g.layers if isinstance(l, keras.layers.Conv2DTranspose)]
    assert len([l for l in g.layers if isinstance(l, keras.layers.UpSampling2D)]) == 3
    images = _np(g(np.random.default_rng(0).standard_normal((2, 8)).astype("float32")))
    assert images.shape == (2, 32, 32, 3) and np.abs(images).max() <= 1.0
    model = build_model("vae", upsampling="resize", **TINY)
    assert any(isinstance(l, keras.layers.UpSampling2D) for l in model.decoder.layers)
    with pytest.raises(UserInputError,
                       match="upsampling: expected auto, transpose, resize; got 'pixelshuffle'"):
        build_model("dcgan", upsampling="pixelshuffle", **TINY)


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


# --- defects found in review, each pinned by a test -----------------------------

def _seeded_uniform(seed=0):
    generator = keras.random.SeedGenerator(seed)
    return lambda shape: keras.random.uniform(shape, seed=generator)


@pytest.mark.parametrize("name", ["flip", "translate", "translation", "cutout"])
def test_each_augmentation_keeps_range_and_mean(name):
    from keras_genart.data import load_images
    from keras_genart.data.augment import Augmentation

    images = load_images("builtin:abstract:64", image_size=16).images
    x = images.astype("float32") / 127.5 - 1.0
    out = _np(Augmentation([name])(ops.convert_to_tensor(x), _seeded_uniform()))
    assert out.shape == x.shape and out.dtype == np.float32
    assert out.min() >= -1.0 and out.max() <= 1.0
    assert abs(float(out.mean()) - float(x.mean())) < 0.1
    assert not np.array_equal(out, x)  # it did something
    # Each image changed by its own draw, not all alike.
    changed = np.any(out != x, axis=(1, 2, 3))
    assert 0 < changed.sum() <= len(x)
    if name == "flip":
        assert 0 < changed.sum() < len(x)


def _fixed_uniform(*values):
    """A `uniform(shape)` that returns `values[k]` everywhere on its k-th call."""
    calls = iter(values)
    return lambda shape: ops.full(shape, next(calls), "float32")


def test_diffaugment_color_follows_the_paper():
    from keras_genart.data.augment import color

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (2, 4, 4, 3)).astype("float32")
    # brightness U=0.9 -> +0.4; saturation U=0.25 -> x0.5; contrast U=0.0 -> x0.5.
    out = _np(color(ops.convert_to_tensor(x), _fixed_uniform(0.9, 0.25, 0.0)))
    y = x + 0.4
    y = (y - y.mean(axis=3, keepdims=True)) * 0.5 + y.mean(axis=3, keepdims=True)
    y = (y - y.mean(axis=(1, 2, 3), keepdims=True)) * 0.5 + y.mean(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(out, y, atol=1e-6)
    # The strengths' extremes: brightness +-0.5, saturation x[0, 2], contrast x[0.5, 1.5].
    grey = _np(color(ops.convert_to_tensor(x), _fixed_uniform(0.5, 0.0, 0.5)))
    np.testing.assert_allclose(grey, np.broadcast_to(x.mean(axis=3, keepdims=True), x.shape),
                               atol=1e-6)


def test_diffaugment_translation_and_cutout_by_hand():
    from keras_genart.data.augment import cutout, translation

    x = np.arange(1, 2 * 8 * 8 + 1, dtype="float32").reshape(2, 8, 8, 1)
    # Shift of 8 * 1/8 = 1 pixel at most: U=0 -> -1 row, U=0.99 -> +1 column.
    moved = _np(translation(ops.convert_to_tensor(x), _fixed_uniform(0.0)))
    expected = np.zeros_like(x)
    expected[:, :-1, :-1] = x[:, 1:, 1:]  # up and left by one, zero border
    np.testing.assert_array_equal(moved, expected)
    # A 4x4 square; U=0 puts its centre at (0, 0): rows and columns 0..1 cut.
    cut = _np(cutout(ops.convert_to_tensor(x), _fixed_uniform(0.0)))
    expected = x.copy()
    expected[:, :2, :2] = 0.0
    np.testing.assert_array_equal(cut, expected)
    cut = _np(cutout(ops.convert_to_tensor(x), _fixed_uniform(0.5)))  # centre (4, 4)
    assert (cut[:, 2:6, 2:6] == 0).all() and (cut != 0).sum() == 2 * (64 - 16)


@pytest.mark.parametrize("name", ["color", "translation", "cutout"])
def test_diffaugment_passes_gradients_to_the_pictures(name):
    from keras_genart import backend
    from keras_genart.data.augment import Augmentation

    x = ops.convert_to_tensor(np.random.default_rng(1).uniform(
        -1, 1, (4, 8, 8, 3)).astype("float32"))
    weights = ops.convert_to_tensor(np.random.default_rng(2).uniform(
        0.5, 1.5, (1, 8, 8, 3)).astype("float32"))
    uniform = _seeded_uniform(4)
    grad = _np(backend.current().gradient_wrt_inputs(
        lambda images: ops.sum(Augmentation([name])(images, uniform) * weights), x))
    assert np.isfinite(grad).all() and np.abs(grad).sum() > 0
    if name == "cutout":  # the gradient is the mask: zero in the square, the weight elsewhere
        assert np.isin(np.round(grad / _np(weights), 5), [0.0, 1.0]).all()


def test_flip_is_for_real_pictures_only():
    from keras_genart.data.augment import Augmentation

    x = ops.convert_to_tensor(np.random.default_rng(0).uniform(
        -1, 1, (64, 8, 8, 3)).astype("float32"))
    aug = Augmentation(["flip"])
    assert not np.array_equal(_np(aug(x, _seeded_uniform(), real=True)), _np(x))
    np.testing.assert_array_equal(_np(aug(x, _seeded_uniform(), real=False)), _np(x))
    both = Augmentation(["flip", "cutout"])
    assert both.differentiable == ["cutout"]


def test_augmentations_draw_independent_numbers():
    # A horizontal ramp: the flip is visible in the sign of left-minus-right,
    # the brightness offset in the mean change (contrast keeps the mean).
    from keras_genart.data.augment import Augmentation

    ramp = np.linspace(-0.5, 0.5, 16, dtype="float32")[None, None, :, None]
    x = np.broadcast_to(ramp, (512, 16, 16, 3)).copy()
    out = _np(Augmentation(["flip", "color"])(ops.convert_to_tensor(x), _seeded_uniform(3)))
    flipped = (out[:, :, 0] > out[:, :, -1]).all(axis=(1, 2)).astype("float64")
    offset = (out - x).mean(axis=(1, 2, 3))
    assert 0.3 < flipped.mean() < 0.7
    assert abs(np.corrcoef(flipped, offset)[0, 1]) < 0.2


def test_gan_keeps_keras_losses_attribute():
    model = build_model("dcgan", **TINY)
    assert model.losses == []  # keras.Layer.losses, not a tuple of loss names
    assert "hinge" in DCGAN.loss_choices


def test_wgan_gp_refuses_minibatch_std_critic():
    with pytest.raises(UserInputError, match="minibatch standard-deviation"):
        build_model("wgan-gp", minibatch_std=True, **TINY)
    critic = build_discriminator(16, base_width=8, normalization="layer", minibatch_std=True)
    with pytest.raises(ValueError, match="minibatch standard-deviation layer"):
        WGANGP(build_generator(16, 8, base_width=8), critic)


def test_positional_optimizer_is_the_optimizer_or_an_error():
    vae = build_model("vae", **TINY)
    vae.compile("sgd")
    assert isinstance(vae.optimizer, keras.optimizers.SGD)
    assert vae.get_compile_config()["jit_compile"] == "auto"
    gan = build_model("dcgan", **TINY)
    with pytest.raises(TypeError, match="g_optimizer=..., d_optimizer=..."):
        gan.compile("adam")
    with pytest.raises(ValueError, match="jit_compile must be"):
        vae.compile(jit_compile="adam")


@pytest.mark.skipif(keras.backend.backend() == "jax",
                    reason="compute_step's averaging, the same on every backend: checked once "
                           "(eager JAX takes 20 s)")
def test_wgan_gp_trackers_average_the_critic_updates(tiny_data):
    model = build_model("wgan-gp", n_critic=3, seed=0, **TINY)
    model.compile(run_eagerly=True)
    real_minimize, calls = model._minimize, []

    def recorded(name, loss_fn):
        loss, aux = real_minimize(name, loss_fn)
        if name != "d_optimizer":
            return loss, aux
        calls.append(len(calls) + 1)
        k = float(len(calls))
        return loss, (ops.convert_to_tensor(k), ops.convert_to_tensor(10 * k),
                      ops.convert_to_tensor(100 * k))

    model._minimize = recorded
    logs = model.train_on_batch(next(tiny_data)[0], return_dict=True)
    assert calls == [1, 2, 3]
    # Mean of 1, 2, 3 (not the last update's 3).
    assert logs["d_loss"] == pytest.approx(2.0)
    assert logs["gradient_penalty"] == pytest.approx(20.0)
    assert logs["wasserstein_distance"] == pytest.approx(200.0)


@pytest.mark.parametrize("mode", ["off", "bfloat16", "float16"])
@pytest.mark.parametrize("kind", ["dcgan", "vae", "latent-classes"])
def test_mixed_precision_trains(kind, mode, tiny_data, tmp_path):
    styles = ["bauhaus", "kandinsky", "mondrian", "op_art", "suprematism"]
    model = build_model("dcgan" if kind == "latent-classes" else kind, seed=0,
                        mixed_precision=mode, **TINY,
                        **({"latent_class_names": styles} if kind == "latent-classes" else {}))
    model.compile()
    compute = {"off": "float32"}.get(mode, mode)
    if kind == "latent-classes":  # the class is read from z in float32 whatever the policy
        from keras_genart.latents import latent_classes, latents_in_classes

        coded = model.generator.get_layer("latent_class")
        assert coded.compute_dtype == "float32"
        z = latents_in_classes(sample_latents(50, 8, 1), np.arange(50) % 5, [1] * 5)
        np.testing.assert_array_equal(ops.convert_to_numpy(coded(z)), np.arange(50) % 5)
        np.testing.assert_array_equal(latent_classes(z, [1] * 5), np.arange(50) % 5)
    assert model.generator.get_layer("project").compute_dtype == compute
    assert model.generator.output.dtype == "float32"  # images stay float32
    optimizers = [getattr(model, n) for n in model.optimizer_names]
    scaled = [isinstance(o, keras.optimizers.LossScaleOptimizer) for o in optimizers]
    assert all(scaled) if mode == "float16" else not any(scaled)
    history = model.fit(tiny_data, epochs=1, steps_per_epoch=3, verbose=0)
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    images = model.generate(2, seed=0)
    assert images.dtype == np.float32 and np.isfinite(images).all()
    # The precision survives a save and load.
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.generator.get_layer("project").compute_dtype == compute
    assert [isinstance(getattr(loaded, n), keras.optimizers.LossScaleOptimizer)
            for n in loaded.optimizer_names] == scaled


def test_auto_jit_measures_both_ways_before_a_long_cpu_fit(tiny_data, monkeypatch):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("JAX always compiles; the measurement is TensorFlow's")
    from keras_genart.backend import tensorflow as tf_backend
    from keras_genart.data import load_images, make_dataset

    data = load_images("builtin:abstract:32", image_size=16)

    monkeypatch.setattr(tf_backend, "MEASURE_JIT_MIN_STEPS", 4)
    monkeypatch.setattr(tf_backend, "MEASURED_STEPS", 2)
    model = build_model("dcgan", seed=0, **TINY)
    model.compile()
    assert model._jit_to_measure and model.jit_compile is False
    before = [np.array(v) for v in model.variables]
    lines = []
    batches = make_dataset(data, 4, seed=0)
    expected_first = next(make_dataset(data, 4, seed=0))[0]
    kept = tf_backend.choose_jit_compile(model, batches, dict(epochs=2, steps_per_epoch=2),
                                         log=lines.append)
    assert set(model.jit_compile_timings) == {"graph", "xla"}
    assert model.jit_compile is (model.jit_compile_timings["xla"]
                                 < model.jit_compile_timings["graph"])
    assert "ms/step in graph mode" in lines[0]
    # Nothing changed but the choice: the same weights, and the same first batch.
    assert all(np.array_equal(a, np.array(v)) for a, v in zip(before, model.variables))
    np.testing.assert_array_equal(next(kept)[0], expected_first)
    # A short fit does not measure: graph mode straight away.
    short = build_model("dcgan", seed=0, **TINY)
    short.compile()
    short.fit(tiny_data, epochs=1, steps_per_epoch=1, verbose=0)
    assert not hasattr(short, "jit_compile_timings") and short.jit_compile is False


def test_generators_reach_tensorflow_fit_without_autotuning(monkeypatch):
    # Keras' own wrapper autotunes, and deleting its iterator then waits for the
    # autotuning thread: 8-9 s after a 60-step fit (benchmarks/fit_end_wait.py).
    if keras.backend.backend() != "tensorflow":
        pytest.skip("JAX's trainer reads generators without tf.data")
    import tensorflow as tf

    from keras_genart.backend.tensorflow import fit_input
    from keras_genart.data import load_images, make_dataset

    data = load_images("builtin:abstract:12", image_size=16)
    dataset = fit_input(make_dataset(data, 5, seed=0, repeat=False))
    assert isinstance(dataset, tf.data.Dataset)
    assert dataset.options().autotune.enabled is False
    images, labels = dataset.element_spec
    assert images.shape.as_list() == [None, 16, 16, 3] and labels.shape.as_list() == [None]
    # Every batch, in order, the last one short.
    got = [tuple(np.asarray(a) for a in batch) for batch in dataset]
    want = list(make_dataset(data, 5, seed=0, repeat=False))
    assert [len(b[0]) for b in got] == [len(b[0]) for b in want]
    for (gi, gl), (wi, wl) in zip(got, want):
        np.testing.assert_array_equal(gi, wi)
        np.testing.assert_array_equal(gl, wl)
    # What is not a generator of tuples of arrays goes to Keras unchanged.
    assert fit_input(dataset) is dataset
    leftover = fit_input(b for b in [np.zeros((2, 3))])
    assert not isinstance(leftover, tf.data.Dataset)
    np.testing.assert_array_equal(next(leftover), np.zeros((2, 3)))
    assert list(fit_input(b for b in [])) == []
    source = make_dataset(data, 4, seed=0)
    for _ in fit_input(source).take(1):
        pass
    assert next(source)[0].shape == (4, 16, 16, 3)  # the caller's generator stays open
    # And the model's fit hands Keras that dataset.
    seen = []
    monkeypatch.setattr(keras.Model, "fit", lambda self, x, *a, **k: seen.append(x))
    build_model("dcgan", seed=0, **TINY).fit(make_dataset(data, 4, seed=0), steps_per_epoch=1)
    assert isinstance(seen[0], tf.data.Dataset)


def test_packing_judges_several_samples_at_once(tiny_data):
    # PacGAN: the discriminator takes 2 pictures stacked along the channels.
    model = build_model("dcgan", packing=2, seed=0, **TINY)
    model.compile()
    logs = model.train_on_batch(next(tiny_data)[0], return_dict=True)
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert model.packing == 2 and model.discriminator.input.shape[-1] == 6
    assert keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(model)).packing == 2
    x = np.arange(4 * 2 * 2 * 3, dtype="float32").reshape(4, 2, 2, 3)
    inputs = keras.Input((2, 2, 6))
    probe = DCGAN(build_generator(16, 8, base_width=8),
                  build_discriminator(16, base_width=8, channels=6), packing=2)
    probe.discriminator = keras.Model(inputs, inputs)  # identity: see what it was given
    packed = _np(probe._judge(ops.convert_to_tensor(x)))
    # Consecutive samples share an input: [x0 | x1], [x2 | x3].
    np.testing.assert_array_equal(packed, np.concatenate([x[[0, 2]], x[[1, 3]]], axis=-1))
    with pytest.raises(UserInputError, match="wgan-gp does not pack"):
        build_model("wgan-gp", packing=2, **TINY)
    with pytest.raises(ValueError, match="with packing 2 it must take"):
        DCGAN(build_generator(16, 8, base_width=8), build_discriminator(16, base_width=8),
              packing=2)


# --- the composable adversarial step ------------------------------------------------

def _linear_critic(w, shape=(4, 4, 1)):
    inputs = keras.Input(shape)
    critic = keras.Model(inputs, keras.layers.Dense(1, use_bias=False)(
        keras.layers.Flatten()(inputs)))
    critic.set_weights([w])
    return critic


def _tiny_generator(latent=2, shape=(4, 4, 1)):
    z = keras.Input((latent,))
    return keras.Model(z, keras.layers.Reshape(shape)(
        keras.layers.Dense(int(np.prod(shape)), activation="tanh")(z)))


def test_r1_matches_hand_computation():
    # A linear critic f(x) = sum(w * x) has gradient w at every picture:
    # R1 is ||w||^2 per picture, and a packed pair's is the sum over its two.
    from keras_genart.models import AdversarialModel

    w = np.linspace(-0.3, 0.5, 16).astype("float32").reshape(16, 1)
    model = AdversarialModel(_tiny_generator(), _linear_critic(w), r1_weight=10.0)
    real = ops.convert_to_tensor(np.random.default_rng(1).standard_normal(
        (3, 4, 4, 1)).astype("float32"))
    np.testing.assert_allclose(_np(model.r1_penalty(real)), [np.sum(w ** 2)] * 3, rtol=1e-5)
    w2 = np.concatenate([w, 2 * w], axis=0).reshape(32, 1)  # channel-interleaved pair
    packed = AdversarialModel(_tiny_generator(), _linear_critic(
        np.stack([w[:, 0], 2 * w[:, 0]], axis=1).reshape(32, 1), (4, 4, 2)), packing=2)
    real4 = ops.concatenate([real, real[:1]], axis=0)
    np.testing.assert_allclose(_np(packed.r1_penalty(real4)), [np.sum(w2 ** 2)] * 2, rtol=1e-5)


def test_penalties_are_callables_of_any_discriminator():
    # The regularisers of losses.py take a function of pictures, not a model: a linear
    # critic's gradient is w everywhere.
    w = np.linspace(-0.3, 0.5, 16).astype("float32").reshape(16, 1)
    critic = _linear_critic(w)
    real = ops.convert_to_tensor(np.random.default_rng(1).standard_normal(
        (4, 4, 4, 1)).astype("float32"))
    gp = losses.GradientPenalty(10.0)
    assert gp.weight == 10.0
    np.testing.assert_allclose(_np(gp(critic, real, -real, ops.ones((4,)))),
                               [(np.sqrt(np.sum(w ** 2)) - 1.0) ** 2] * 4, rtol=1e-5)
    r1 = losses.R1Penalty(gamma=2.0, interval=3, group=2)
    assert r1.weight == 1.0
    pair = 2 * np.sum(w ** 2)  # a packed pair's gradient covers both its pictures
    np.testing.assert_allclose(_np(r1.every_update(critic, real)), [pair] * 2, rtol=1e-5)
    np.testing.assert_allclose(_np(r1(critic, real, ops.convert_to_tensor(3))),
                               [3 * pair] * 2, rtol=1e-5)  # due: times the interval
    np.testing.assert_array_equal(_np(r1(critic, real, ops.convert_to_tensor(4))), [0, 0])


def test_lazy_r1_runs_every_interval_with_the_interval_as_weight(tiny_data):
    model = build_model("dcgan", seed=0, **TINY, d_normalization="none", minibatch_std=False)
    model = DCGAN(model.generator, model.discriminator, r1_weight=1.0, r1_interval=3, seed=0)
    model.compile()
    batch = next(tiny_data)[0]
    seen = []
    for _ in range(4):
        seen.append(model.train_on_batch(batch, return_dict=True)["r1_penalty"])
        model.reset_metrics()
    # Updates 0 and 3 compute R1 (times 3); 1 and 2 do not.
    assert seen[0] > 0 and seen[3] > 0 and seen[1] == 0 and seen[2] == 0
    direct = _np(model.r1_penalty(ops.convert_to_tensor(batch))).mean()
    assert 0.1 * direct < seen[3] / 3 < 10 * direct


def test_ema_generator_follows_the_generator(tiny_data):
    # Saving and loading it: the DCGAN standard checks.
    model = build_model("dcgan", seed=0, ema=0.9, **TINY)
    model.compile()
    model.train_on_batch(next(tiny_data)[0])
    assert model.sampling_generator is model.ema_generator
    raw = [_np(v) for v in model.generator.trainable_weights]
    ema_before = [_np(v) for v in model.ema_generator.weights]
    steps = int(model.g_optimizer.iterations)
    model.train_on_batch(next(tiny_data)[0])
    decay = min(0.9, (1 + steps + 1) / (10 + steps + 1))
    new_raw = {id(v): _np(v) for v in model.generator.weights}
    for average, before, variable in zip(model.ema_generator.weights, ema_before,
                                         model.generator.weights):
        expected = (new_raw[id(variable)] + decay * (before - new_raw[id(variable)])
                    if variable.trainable else new_raw[id(variable)])
        np.testing.assert_allclose(_np(average), expected, rtol=1e-5, atol=1e-6)
    averaged = [_np(a) for a, v in zip(model.ema_generator.weights, model.generator.weights)
                if v.trainable]
    assert len(averaged) == len(raw)
    assert not all(np.array_equal(a, b) for a, b in zip(raw, averaged))
    # generate uses the average, not the raw generator (with the average's own
    # batch-norm statistics: the next test).
    z = sample_latents(2, model.latent_dim, 3)
    pictures = model.generate(2, seed=3)
    expected = np.clip((_np(model.ema_generator(z, training=False)) + 1) / 2, 0, 1)
    np.testing.assert_allclose(pictures, expected, atol=1e-6)
    assert not model.ema_generator.trainable_weights  # never trained itself


@pytest.mark.parametrize("conditional", [False, True])
def test_ema_generator_normalizes_by_the_statistics_of_its_own_pictures(conditional,
                                                                        tiny_data, tmp_path):
    styles = ["bauhaus", "kandinsky", "mondrian", "op_art", "suprematism"]
    model = build_model("dcgan", seed=0, ema=0.9, class_names=styles if conditional else None,
                        **TINY)
    model.compile()
    for _ in range(3):
        batch, labels = next(tiny_data)
        model.train_on_batch((batch, labels) if conditional else batch)

    def norms(network):
        return [layer for layer in network.layers
                if isinstance(layer, keras.layers.BatchNormalization)]

    averaged, raw = norms(model.ema_generator), norms(model.generator)
    assert averaged
    # Training copies the raw generator's running statistics into the average...
    for layer, source in zip(averaged, raw):
        np.testing.assert_array_equal(_np(layer.moving_mean), _np(source.moving_mean))
    pictures = model.generate(3, seed=1)
    assert not model.refresh_sampling_statistics()  # ...generate replaced them, once
    # ...by each layer's mean and variance over fixed latents (classes in turn),
    # run through the average in inference mode, as computed here by hand.
    z = sample_latents(model.statistics_samples, model.latent_dim, model.statistics_seed)
    inputs = [z, model.resolve_labels(None, len(z))] if conditional else z
    for layer, source in zip(averaged, raw):
        seen = _np(keras.Model(model.ema_generator.input, layer.input)(inputs))
        seen = seen.reshape(-1, seen.shape[-1]).astype(np.float64)
        np.testing.assert_allclose(_np(layer.moving_mean), seen.mean(0), atol=1e-5)
        np.testing.assert_allclose(_np(layer.moving_variance), seen.var(0), rtol=1e-3,
                                   atol=1e-6)
        assert not np.allclose(_np(layer.moving_variance), _np(source.moving_variance))
    # Saved and loaded, the average makes the same pictures.
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(loaded.generate(3, seed=1), pictures, atol=1e-5)
    # A training step changes the weights: the statistics are recomputed.
    batch, labels = next(tiny_data)
    model.train_on_batch((batch, labels) if conditional else batch)
    assert model.refresh_sampling_statistics()
    assert not model.refresh_sampling_statistics()


def test_parts_refuse_bad_settings():
    from keras_genart.models import AdversarialModel

    gen, disc = build_generator(16, 8, base_width=8), build_discriminator(16, base_width=8)
    with pytest.raises(ValueError, match="needs a regulariser"):
        AdversarialModel(gen, disc, loss="wasserstein")
    with pytest.raises(ValueError, match="ema must be a decay"):
        AdversarialModel(gen, disc, ema=1.0)
    with pytest.raises(ValueError, match="adversarial loss must be one of"):
        AdversarialModel(gen, disc, loss="dice")
    with pytest.raises(ValueError, match="d_steps and r1_interval"):
        AdversarialModel(gen, disc, d_steps=0)
    with pytest.raises(TypeError, match="WGANGP sets loss"):
        WGANGP(gen, build_discriminator(16, base_width=8, normalization="layer"), loss="hinge")


@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="the saved numbers come from TensorFlow's random streams")
@pytest.mark.parametrize("name", ["dcgan", "wgan_gp"])
def test_models_saved_before_the_composable_step_load_and_train_alike(name):
    # tests/data/*_v0.keras were saved by the DCGAN and WGANGP classes that had
    # their own train_step (commit b12a7f9, tests/data/README.md); the presets
    # must load them and take the same next step. (The DCGAN was saved with
    # "translate" only: "flip" now changes on purpose, to real pictures only.)
    from pathlib import Path

    data = Path(__file__).parent / "data"
    expected = np.load(data / "models_v0_samples.npz")
    model = keras.saving.load_model(data / f"{name}_v0.keras")
    np.testing.assert_allclose(model.generate(2, seed=3), expected[name], atol=1e-6)
    model.train_on_batch(expected["later_batch"])
    np.testing.assert_allclose(model.generate(2, seed=3), expected[name + "_after_step"],
                               atol=1e-5)


@pytest.mark.parametrize("shared", [True, False])
def test_shared_fakes_step_trains_both_networks_from_one_pass(shared, tiny_data):
    # Saving, loading and continuing: the standard checks above.
    model = build_model("dcgan", seed=0, shared_fakes=shared, **TINY)
    calls = []
    real_fake = model._fake
    model._fake = lambda batch, labels=None: calls.append(1) or real_fake(batch, labels)
    model.compile()
    model.train_on_batch(next(tiny_data)[0])  # traced once: a generator pass is one call
    assert len(calls) == (1 if shared else 2)
    assert int(model.d_optimizer.iterations) == int(model.g_optimizer.iterations) == 1


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's tape")
def test_joint_minimize_takes_every_gradient_before_applying_any():
    from keras_genart.backend import tensorflow as tf_backend

    a, b = keras.Variable(2.0), keras.Variable(3.0)
    opt_a, opt_b = keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1)
    opt_a.build([a])
    opt_b.build([b])
    # loss_a = a * b (d/da = b = 3), loss_b = a * b^2 (d/db = 2ab = 12), both at the old values.
    tf_backend.minimize_jointly([(opt_a, [a]), (opt_b, [b])],
                                lambda: ((a * b, a * b * b), None))
    assert float(a.numpy()) == pytest.approx(2.0 - 0.1 * 3.0)
    assert float(b.numpy()) == pytest.approx(3.0 - 0.1 * 12.0)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's XLA")
def test_lazy_r1_compiles_with_xla_on_batches_of_unknown_size():
    # fit's batches have an unknown batch size under TensorFlow; XLA could not
    # differentiate the lazy cond through the minibatch-std layer then.
    from keras_genart.data import load_images, make_dataset

    model = build_model("dcgan", seed=0, d_normalization="none", r1_weight=0.1,
                        r1_interval=4, **TINY)
    model.compile(jit_compile=True)
    history = model.fit(make_dataset(load_images("builtin:abstract:8", image_size=16), 4),
                        epochs=1, steps_per_epoch=2, verbose=0)
    assert np.isfinite(history.history["r1_penalty"][-1])


def _loss_scale(optimizer):
    return float(_np(optimizer.dynamic_scale))


def test_mixed_precision_float16_discriminator_learns_from_a_batch_of_identical_pictures(
        tmp_path):
    # A collapsing generator repeats one picture: the minibatch-std channel's
    # variance is 0 there, and sqrt(0 + 1e-8) in float16 (where 1e-8 is 0) has an
    # infinite gradient. The loss-scale optimizer then skipped every such
    # discriminator step and halved its scale, silently (issue 28, item 10).
    from keras_genart import backend

    model = build_model("dcgan", seed=0, mixed_precision="float16", minibatch_std=True,
                        **TINY)
    model.compile()
    assert model.discriminator.get_layer("minibatch_std").compute_dtype == "float16"
    picture = np.random.default_rng(0).uniform(-1, 1, (1, 16, 16, 3)).astype("float32")
    same = ops.convert_to_tensor(np.repeat(picture, 4, axis=0))

    def input_gradients(discriminator):
        return _np(backend.current().gradient_wrt_inputs(
            lambda x: discriminator(x, training=True), same))

    assert np.isfinite(input_gradients(model.discriminator)).all()
    before = [np.array(w) for w in model.discriminator.get_weights()]
    scale = _loss_scale(model.d_optimizer)
    model.train_on_batch(_np(same))
    assert _loss_scale(model.d_optimizer) == scale  # the step was not skipped ...
    moved = max(float(np.max(np.abs(a - np.array(b))))
                for a, b in zip(before, model.discriminator.get_weights()))
    assert moved > 1e-5  # ... and the discriminator learned from it
    # The std channel itself: about 0 for identical pictures, in the layer's dtype.
    layer = model.discriminator.get_layer("minibatch_std")
    features = ops.convert_to_tensor(np.repeat(np.ones((1, 4, 4, 2), "float16"), 4, axis=0))
    out = layer(features)
    assert out.dtype == "float16" and float(np.max(np.abs(_np(out)[..., -1]))) < 1e-3
    # A saved model still loads and computes the same.
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(_np(loaded.discriminator(same)),
                                  _np(model.discriminator(same)))
    assert np.isfinite(input_gradients(loaded.discriminator)).all()


def _flat_critics(kind, flatness):
    """`(float32 model, compiled float16 model)` with the same 64 px discriminator, whose
    logits layer is scaled by `flatness`: the small input gradients of a flat critic."""
    made = []
    for mode in ("off", "float16"):
        model = build_model(kind, seed=0, mixed_precision=mode, image_size=64, latent_dim=8,
                            base_width=32)
        model.compile()
        made.append(model)
    weights = made[0].discriminator.get_weights()
    weights[-2] = weights[-2] * flatness  # the logits' kernel
    for model in made:
        model.discriminator.set_weights(weights)
    return made


def _pictures(n, seed, size=64):
    return ops.convert_to_tensor(np.random.default_rng(seed).uniform(
        -1, 1, (n, size, size, 3)).astype("float32"))


@pytest.mark.parametrize("kind", ["dcgan", "wgan-gp"])
def test_mixed_precision_float16_penalties_match_float32_for_a_flat_critic(kind):
    # Measured on the same batch and weights (issue 28, item 11): without loss scaling
    # the input gradients underflowed in float16, and R1 came out 35% (dcgan) and 10%
    # (wgan-gp) off its float32 value, the gradient penalty's gradient norm 16% and 4%
    # (TensorFlow on a CPU; 3% and 2% for dcgan on JAX's CPU). Loss-scaled as the
    # optimizer scales the loss: within 0.4% (float16's precision) on both.
    single, half = _flat_critics(kind, 1e-4)
    real, fake = _pictures(4, 0), _pictures(4, 1)
    r1 = [_np(model.r1_penalty(real)) for model in (single, half)]
    np.testing.assert_allclose(r1[1], r1[0], rtol=1e-2)
    assert r1[0].max() < 1e-7  # the regime: gradients below float16's normal numbers
    alpha = ops.convert_to_tensor([0.1, 0.4, 0.6, 0.9])
    # ||grad|| < 1 here: the penalty (||grad|| - 1)^2 gives the norm back.
    norms = [1 - np.sqrt(_np(model.penalty(real, fake, alpha))) for model in (single, half)]
    np.testing.assert_allclose(norms[1], norms[0], rtol=1e-2)


def test_mixed_precision_float16_penalty_overflow_skips_the_step_with_finite_logs(tiny_data):
    # A loss scale so large that the scaled input gradient overflows float16: like an
    # overflow of the loss's own gradient, the step is skipped and the scale halved,
    # and the penalty logs 0 rather than inf (which would stop training).
    model = build_model("dcgan", seed=0, mixed_precision="float16", r1_weight=1.0,
                        r1_interval=1, **TINY)
    model.compile()
    model.d_optimizer.dynamic_scale.assign(2.0 ** 60)
    before = [np.array(w) for w in model.discriminator.get_weights()]
    logs = model.train_on_batch(next(tiny_data)[0], return_dict=True)
    assert all(np.isfinite(v) for v in logs.values()), logs
    assert logs["r1_penalty"] == 0
    assert _loss_scale(model.d_optimizer) == 2.0 ** 59
    assert all(np.array_equal(a, np.array(b))
               for a, b in zip(before, model.discriminator.get_weights()))
    # The penalty alone: 0, with a non-finite gradient (for the optimizer to see).
    from keras_genart import backend

    r1 = losses.R1Penalty(gamma=2.0)
    pictures = _pictures(4, 0, size=16)
    value = r1.every_update(model.discriminator, pictures, loss_scale=2.0 ** 60)
    np.testing.assert_array_equal(_np(value), 0)
    gradient = backend.current().gradient_wrt_inputs(
        lambda x: r1.every_update(model.discriminator, x, loss_scale=2.0 ** 60), pictures)
    assert not np.isfinite(_np(gradient)).all()
