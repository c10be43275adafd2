"""`genart serve`: exported models behind TF Serving's REST API (onnxruntime, no
TensorFlow)."""

import os
import sys

from keras_genart.cli.arguments import (add_command, non_negative_int, port, positive_int,
                                        version_list)
from keras_genart.errors import UserInputError


def cmd_serve(args):
    import socket

    from keras_genart.errors import require_modules

    require_modules("genart serve", ["onnxruntime", "fastapi", "uvicorn", "orjson"],
                    "pip install keras_genart")
    from keras_genart.serving.runtime import find_versions
    from keras_genart.serving.server import serve

    if (args.model_root is None) == (args.model_config_file is None):
        raise UserInputError("give the folder of exported models (DIR) or "
                             "--model-config-file, one of the two")
    if args.model_config_file is not None:
        from keras_genart.serving.config import ConfigError, read_model_config

        if args.num_versions is not None or args.versions is not None:
            raise UserInputError("--num-versions and --versions apply to DIR; with "
                                 "--model-config-file, set model_version_policy in the file")
        try:
            configs = read_model_config(args.model_config_file)
        except ConfigError as e:
            raise UserInputError(str(e)) from None
        source = args.model_config_file
        models = [n for n, c in configs.items() if find_versions(c.base_path)]
        kwargs = dict(model_config_file=args.model_config_file,
                      config_poll_seconds=args.model_config_file_poll_wait_seconds)
    else:
        if not os.path.isdir(args.model_root):
            raise UserInputError(f"model folder '{args.model_root}' does not exist; pass the "
                                 "folder given to `genart export --out`")
        source = args.model_root
        models = [n for n in sorted(os.listdir(args.model_root))
                  if find_versions(os.path.join(args.model_root, n))]
        kwargs = dict(model_root=args.model_root, num_versions=args.num_versions or 1,
                      versions=args.versions)
    try:  # one clear line, not uvicorn's traceback, when the port is taken
        with socket.create_server((args.host, args.port)):
            pass
    except OSError as e:
        reason = os.strerror(e.errno) if e.errno else str(e)
        raise UserInputError(f"cannot listen on {args.host}:{args.port}: {reason}; "
                             "pass another --port (or stop what uses it)") from e
    if not models:
        print(f"warning: no exported model under {source} yet (expected "
              "NAME/VERSION/model.onnx from `genart export --out`); serving anyway, new "
              "versions are picked up as they appear", file=sys.stderr)
    from keras_genart.serving.studio_assets import missing_message

    studio = missing_message()
    if studio:
        print(f"warning: the studio at /studio/ cannot run: {studio}", file=sys.stderr)
    print(f"serving {', '.join(models) or 'no models yet'} from {source} at "
          f"http://{args.host}:{args.port}/v1/models/")
    serve(host=args.host, port=args.port, max_batch=args.max_batch,
          max_body_bytes=args.max_body_bytes, threads=args.threads, **kwargs)
    return 0


def add_commands(sub):
    """`serve`."""
    serve = add_command(sub, "serve", cmd_serve,
                        help="serve exported models with TF Serving's REST API")
    serve.add_argument("model_root", metavar="DIR", nargs="?", default=None,
                       help="the folder given to export --out (or --model-config-file)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (0.0.0.0: every interface)")
    serve.add_argument("--port", type=port, default=8501, help="port (TF Serving's REST port)")
    serve.add_argument("--max-batch", type=positive_int, default=64,
                       help="most latents per predict request")
    serve.add_argument("--max-body-bytes", type=positive_int, default=1 << 20,
                       help="largest request body; larger ones get 413")
    serve.add_argument("--threads", type=positive_int, default=None,
                       help="onnxruntime threads per model (default: onnxruntime's)")
    serve.add_argument("--model-config-file", metavar="FILE", default=None,
                       help="TF Serving's model config file instead of DIR: models from "
                            "several folders, version policies and version labels "
                            "(serving/models.config)")
    serve.add_argument("--model-config-file-poll-wait-seconds", type=non_negative_int,
                       default=60, metavar="SECONDS",
                       help="reread the model config file when it changes, checking this "
                            "often (0: never)")
    policy = serve.add_mutually_exclusive_group()
    policy.add_argument("--num-versions", type=positive_int, default=None,
                        help="serve the latest N versions of each model; older ones unload "
                             "(TF Serving's version policy; default 1)")
    policy.add_argument("--versions", type=version_list, default=None,
                        help="serve only these versions, e.g. 3,5 (TF Serving's 'specific' "
                             "policy)")
