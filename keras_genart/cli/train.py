"""`genart train` and `genart demo`: a run folder from a config.

The train flags and their copy into `TrainConfig` are kept in two functions,
`add_train_arguments` and `train_config_from_args`, so that they can be replaced as one.
"""

import json
import os
import sys

from keras_genart.backend import SUPPORTED_BACKENDS
from keras_genart.cli.arguments import (
    add_command,
    augment_list,
    bool_or_auto,
    ema,
    image_size,
    int_or_auto,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    unit_float,
)
from keras_genart.errors import UserInputError
from keras_genart.metrics.names import SCORES
from keras_genart.models import MIXED_PRECISION, MODEL_TYPES
from keras_genart.options import COLORS, DCGAN_LOSSES, NORMALIZATIONS, UPSAMPLINGS

# The demo: `genart train dcgan`'s defaults on the five built-in styles, one row of the
# grid per style, on 2 CPU cores in about 6 minutes (README). On labelled data the
# default DCGAN learns the classes through its latents (latent-coded classes; its
# generator upsamples by resize-convolutions and takes z only): on builtin:abstract at
# equal wall time (300 s) that scored FID 3.95 and 5.33 / KID 0.014 and 0.039 (two
# seeds) against 8.74 and 7.74 / 0.068 and 0.044 for the unconditional DCGAN, and drew
# every style at 16 % of the pictures or more (README, "Better pictures per
# CPU-minute"). The demo counts steps, not minutes, so that its pictures are the same on
# every machine.
DEMO = dict(model="dcgan", data="builtin:abstract:4096", image_size=32, batch_size=64,
            epochs=8, steps_per_epoch=250, run_dir=os.path.join("runs", "demo"))
DEMO_PER_CLASS = 8


def add_train_arguments(parser):
    """`genart train`'s arguments, the settings of `TrainConfig` (and --backend, --quiet,
    --dry-run)."""
    parser.add_argument("model", choices=MODEL_TYPES, help="training algorithm")
    parser.add_argument("--data", default="builtin:abstract",
                        help="a folder of images, tfds:NAME[:SPLIT] or builtin:NAME[:COUNT] "
                             "(NAME: abstract, bauhaus, kandinsky, mondrian, op_art, suprematism)")
    parser.add_argument("--tfds-data-dir", default=None,
                        help="folder where TFDS data sets were prepared (never downloaded here) "
                             "(default: TFDS' own, ~/tensorflow_datasets)")
    parser.add_argument("--image-size", type=image_size, default=32, help="16, 32, 64 or 128")
    parser.add_argument("--batch-size", type=positive_int, default=64,
                        help="pictures per step (over all devices)")
    parser.add_argument("--epochs", type=positive_int, default=10,
                        help="epochs to train; raise it to train a finished run further")
    parser.add_argument("--steps-per-epoch", type=positive_int, default=None,
                        help="steps per epoch (default: one pass over the data)")
    parser.add_argument("--latent-dim", type=positive_int, default=128,
                        help="size of the generator's latent vector z")
    parser.add_argument("--base-width", type=positive_int, default=64,
                        help="filters at the highest resolution; doubled per lower one")
    parser.add_argument("--max-width", type=positive_int, default=512,
                        help="most filters in any layer")
    parser.add_argument("--blocks-per-stage", type=non_negative_int, default=0,
                        help="extra conv blocks per resolution (depth)")
    parser.add_argument("--d-norm", choices=NORMALIZATIONS,
                        default=None,
                        help="discriminator normalization (default: dcgan none, or "
                             "spectral when --conditional; wgan-gp layer, and it refuses "
                             "batch)")
    parser.add_argument("--minibatch-std", type=bool_or_auto, default="auto",
                        help="minibatch standard-deviation channel in the discriminator "
                             "(auto: on for dcgan, off for wgan-gp)")
    parser.add_argument("--packing", type=positive_int, default=1,
                        help="DCGAN: pictures the discriminator judges at once (PacGAN); 2 "
                             "with --upsampling resize drew an unlabelled mix of styles more "
                             "evenly (README)")
    parser.add_argument("--loss", choices=DCGAN_LOSSES, default="non_saturating",
                        help="DCGAN adversarial loss")
    parser.add_argument("--n-critic", type=positive_int, default=5,
                        help="WGAN-GP critic steps per generator step")
    parser.add_argument("--gp-weight", type=positive_float, default=10.0,
                        help="WGAN-GP gradient penalty weight (lambda)")
    parser.add_argument("--beta", type=positive_float, default=1.0, help="VAE KL weight")
    parser.add_argument("--lr", type=positive_float, default=None,
                        help="learning rate (default: dcgan 2e-4, wgan-gp 1e-4, vae 1e-3)")
    parser.add_argument("--beta1", type=unit_float, default=None,
                        help="Adam beta_1 (default: dcgan 0.5, wgan-gp 0.0, vae 0.9)")
    parser.add_argument("--beta2", type=unit_float, default=None,
                        help="Adam beta_2 (default: dcgan 0.999, wgan-gp 0.9, vae 0.999)")
    parser.add_argument("--augment", type=augment_list, default="none",
                        help="comma-separated, or none: flip (real pictures only: for subjects "
                             "that may face either way), DiffAugment's color, translation, "
                             "cutout (real and generated pictures), translate (mirrored border)")
    parser.add_argument("--ema", type=ema, default="auto",
                        help="GANs: pictures from a moving average of the generator with this "
                             "decay; auto: 0.999 for GANs, none for the vae; none: off")
    parser.add_argument("--r1", type=non_negative_float, default=0.0, metavar="GAMMA",
                        help="GANs: R1 penalty on the discriminator's gradient at real "
                             "pictures; 0 for none")
    parser.add_argument("--r1-interval", type=positive_int, default=16,
                        help="discriminator updates between R1 computations (lazy R1)")
    parser.add_argument("--shared-fakes", type=bool_or_auto, default="auto",
                        help="GANs: the generator's update reuses the discriminator update's "
                             "fakes and forward pass (one pass fewer per step); auto: on for "
                             "dcgan, off for wgan-gp")
    parser.add_argument("--upsampling", choices=(*UPSAMPLINGS, "auto"), default="auto",
                        help="generator: stride-2 transposed convolutions, or nearest resize "
                             "and a 3x3 convolution (no checkerboard artifacts); auto: resize "
                             "for the conditional dcgan and --latent-classes, transpose "
                             "otherwise")
    parser.add_argument("--colors", choices=(*COLORS, "auto"), default="auto",
                        help="the pictures the generator makes: rgb, or gray (one channel "
                             "copied into red, green and blue: it cannot tint them); auto: gray "
                             "when every training picture is gray")
    parser.add_argument("--conditional", action="store_true",
                        help="a class-conditional model trained on the data's classes (class "
                             "sub-folders, TFDS labels or the builtin: styles): GANs get a "
                             "label in the generator and a projection discriminator, the vae "
                             "a label in the encoder and the decoder")
    parser.add_argument("--latent-classes", type=bool_or_auto, nargs="?", const=True,
                        default="auto", metavar="auto|true|false",
                        help="GANs: learn the data's classes as --conditional does, with a "
                             "generator that takes z only and reads the class from the angle "
                             "of z's first two values (each class's arc its share of the "
                             "data): every class is drawn, and the export stays "
                             "unconditional; auto: on for dcgan on labelled data (not with "
                             "--conditional or --packing); the flag alone: true")
    parser.add_argument("--balance-classes", action="store_true",
                        help="labelled data: every class drawn equally often (rare classes' "
                             "pictures repeat more), for imbalanced folders")
    parser.add_argument("--d-final-size", type=int_or_auto, default="auto", metavar="SIDE",
                        help="GANs: side of the discriminator's last feature map (4, 8, ... "
                             "up to half the image size; 8 leaves out its widest stage, about a "
                             "third of a step's time on a CPU); auto: dcgan 8, wgan-gp 4")
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="weights, latents, shuffling and augmentation")
    parser.add_argument("--jit-compile", type=bool_or_auto, default="auto",
                        help="XLA-compile the train step. auto: always on JAX; on TensorFlow "
                             "XLA on GPUs, none under --devices > 1, and on CPUs a run of "
                             "1000+ steps times both ways first and keeps the faster")
    parser.add_argument("--steps-per-execution", type=positive_int, default=1,
                        help="training steps per compiled call")
    parser.add_argument("--mixed-precision", choices=MIXED_PRECISION, default="off",
                        help="compute in bfloat16 or float16 (float32 weights, outputs and "
                             "losses; float16 scales the losses)")
    parser.add_argument("--devices", type=positive_int, default=1,
                        help="data-parallel devices: tf.distribute.MirroredStrategy on "
                             "TensorFlow, keras.distribution.DataParallel on JAX")
    parser.add_argument("--backend", choices=SUPPORTED_BACKENDS, default=None,
                        help="Keras backend (default: $KERAS_BACKEND, else tensorflow)")
    parser.add_argument("--eval-every", type=positive_int, default=None, metavar="N",
                        help="score the model every N epochs (val_fid, val_kid, ... in the logs "
                             "and TensorBoard) and keep best.keras (default: off)")
    parser.add_argument("--eval-metric", default="kid",
                        choices=tuple(SCORES),
                        help="the score that picks best.keras")
    parser.add_argument("--eval-n", type=positive_int, default=1000,
                        help="pictures generated (and real pictures) per evaluation")
    parser.add_argument("--run-dir", default=None, help="run folder (default: runs/MODEL)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the resolved config and exit")


def train_config_from_args(args):
    """The `TrainConfig` of parsed `genart train` arguments."""
    from keras_genart.runs import TrainConfig

    return TrainConfig(
        model=args.model, data=args.data, image_size=args.image_size,
        batch_size=args.batch_size, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
        latent_dim=args.latent_dim, base_width=args.base_width, max_width=args.max_width,
        blocks_per_stage=args.blocks_per_stage, d_normalization=args.d_norm,
        minibatch_std=None if args.minibatch_std == "auto" else args.minibatch_std,
        loss=args.loss, n_critic=args.n_critic,
        gp_weight=args.gp_weight, beta=args.beta, lr=args.lr, beta1=args.beta1,
        beta2=args.beta2, augment=args.augment, seed=args.seed,
        jit_compile=args.jit_compile, steps_per_execution=args.steps_per_execution,
        mixed_precision=args.mixed_precision, packing=args.packing, devices=args.devices,
        ema=args.ema, r1=args.r1, r1_interval=args.r1_interval,
        upsampling=args.upsampling, colors=args.colors, shared_fakes=args.shared_fakes,
        d_final_size=args.d_final_size, conditional=args.conditional,
        latent_classes=args.latent_classes, balance_classes=args.balance_classes,
        eval_every=args.eval_every, eval_metric=args.eval_metric, eval_n=args.eval_n,
        tfds_data_dir=args.tfds_data_dir, run_dir=args.run_dir,
        # A progress bar on a terminal; one line per epoch in a log file (the
        # bar's \r updates made megabytes of it).
        verbose=0 if args.quiet else (1 if sys.stdout.isatty() else 2),
    )


def select_backend(name):
    """Sets KERAS_BACKEND before Keras loads; refuses a clash with a loaded Keras."""
    if name is None:
        return
    if "keras" in sys.modules and sys.modules["keras"].backend.backend() != name:
        raise UserInputError(
            f"--backend {name}: Keras is already loaded with the "
            f"{sys.modules['keras'].backend.backend()} backend in this process")
    os.environ["KERAS_BACKEND"] = name


def cmd_train(args):
    config = train_config_from_args(args)
    select_backend(args.backend)
    if args.dry_run:
        print(json.dumps(config.to_dict(), indent=2))
        return 0
    from keras_genart._quiet import quiet_tensorflow

    quiet_tensorflow()
    from keras_genart.runs import train

    train(config)
    return 0


def cmd_demo(args):
    from keras_genart._quiet import quiet_tensorflow
    from keras_genart.cli.pictures import write_samples

    quiet_tensorflow()
    from keras_genart.runs import TrainConfig, train

    config = TrainConfig(**{**DEMO, "epochs": args.epochs, "run_dir": args.run_dir,
                            "verbose": 1 if sys.stdout.isatty() else 2})
    print(f"demo: training a DCGAN that learns the styles through its latents on "
          f"{config.data} ({config.epochs} epochs of "
          f"{config.steps_per_epoch} steps, {config.image_size} px) into {config.run_dir}")
    train(config)
    write_samples(config.run_dir, None, 0, args.out, per_class=DEMO_PER_CLASS)
    return 0


def add_train_command(sub):
    add_train_arguments(add_command(
        sub, "train", cmd_train, help="train a model (resumes an unfinished run folder)"))


def add_demo_command(sub):
    demo = add_command(sub, "demo", cmd_demo,
                       help="train the default DCGAN on the five built-in styles "
                            f"({DEMO['data']}), write artwork.png (a row per style)")
    demo.add_argument("--epochs", type=positive_int, default=DEMO["epochs"],
                      help=f"epochs of {DEMO['steps_per_epoch']} steps")
    demo.add_argument("--run-dir", default=DEMO["run_dir"], help="run folder")
    demo.add_argument("--out", default="artwork.png",
                      help=f"grid PNG: {DEMO_PER_CLASS} pictures of each style, a row per style")
