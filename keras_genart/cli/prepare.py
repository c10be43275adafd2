"""`genart prepare`: a data source cleaned once into a prepared data set (ArrayRecord shards)."""

import sys

from keras_genart.cli.arguments import add_command, image_size, non_negative_int, positive_int


def cmd_prepare(args):
    from keras_genart.data.image_folder import describe_summary
    from keras_genart.data.prepare import describe_manifest, prepare

    manifest = prepare(args.source, args.out, args.image_size, seed=args.seed,
                       tfds_data_dir=args.tfds_data_dir, workers=args.workers,
                       shard_size=args.shard_size, min_size=args.min_size)
    print(f"{args.source}: {describe_summary(manifest['skip_report'])}")
    print(describe_manifest(manifest))
    print(f"prepared data set in {args.out}: train with --data {args.out}", file=sys.stderr)
    return 0


def add_commands(sub):
    """`prepare`."""
    from keras_genart.data.prepare import DEFAULT_SHARD_SIZE

    prepare = add_command(
        sub, "prepare", cmd_prepare,
        help="clean a data source once into ArrayRecord shards that training reads from disk",
        description="Cleans SOURCE (a folder, tfds:NAME[:SPLIT] or builtin:NAME[:COUNT]) as "
        "training would, and writes it to --out as ArrayRecord shards with a manifest. A "
        "killed run resumes where it stopped; --data DIR then trains from the prepared set.")
    prepare.add_argument("source", metavar="SOURCE",
                         help="a folder of pictures, tfds:NAME[:SPLIT] or builtin:NAME[:COUNT]")
    prepare.add_argument("--out", required=True, metavar="DIR",
                         help="the prepared set's folder (new, empty, or an unfinished run of "
                         "the same command)")
    prepare.add_argument("--image-size", type=image_size, required=True,
                         help="side of the square pictures")
    prepare.add_argument("--workers", type=positive_int, default=None,
                         help="cleaning processes (default: the number of CPUs)")
    prepare.add_argument("--seed", type=non_negative_int, default=0,
                         help="seed of a builtin: set")
    prepare.add_argument("--tfds-data-dir", default=None,
                         help="where TFDS sets are prepared (default: TFDS' own)")
    prepare.add_argument("--shard-size", type=positive_int, default=DEFAULT_SHARD_SIZE,
                         help="pictures per shard")
    prepare.add_argument("--min-size", type=positive_int, default=None,
                         help="skip folder pictures whose short side is smaller "
                         "(default: half the image size)")
