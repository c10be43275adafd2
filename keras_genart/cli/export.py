"""`genart export`: a trained model as SavedModel and ONNX, in TF Serving's layout."""

from keras_genart.cli.arguments import add_command, formats, positive_int


def cmd_export(args):
    from keras_genart._quiet import quiet_tensorflow
    from keras_genart.artifacts import find_model
    from keras_genart.export import export_model

    # Exporting needs the Keras model: an exported version is refused here, in one line,
    # before TensorFlow loads.
    find_model(args.model_path, exported=False)
    quiet_tensorflow()
    export_model(args.model_path, args.out, name=args.name, version=args.version,
                 formats=args.formats, opset=args.opset, force=args.force)
    return 0


def add_commands(sub):
    """`export`."""
    export = add_command(sub, "export", cmd_export,
                         help="export a generator as SavedModel and ONNX")
    export.add_argument("model_path", metavar="RUN_DIR_OR_.keras",
                        help="a run folder or a .keras file")
    export.add_argument("--out", required=True, metavar="DIR",
                        help="model base folder: writes DIR/NAME/VERSION/")
    export.add_argument("--name", default=None, help="model name (default: the model type)")
    export.add_argument("--version", type=positive_int, default=None,
                        help="version number (default: one more than the highest present)")
    export.add_argument("--formats", type=formats, default="savedmodel,onnx",
                        help="comma-separated: savedmodel, onnx")
    export.add_argument("--opset", type=positive_int, default=17, help="ONNX opset")
    export.add_argument("--force", action="store_true", help="replace an existing version")
