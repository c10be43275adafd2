"""What a request to `genart serve` may say: its path, its JSON body and its query.

Every check here answers a client's mistake with an `ApiError` (TF Serving's
status code and a message that names the input and what is accepted), never
with a traceback. The routes (`serving/app.py`) call these before any work.
"""

import json
import re

import numpy as np

from keras_genart.contract import VERSION_PATTERN

# The signatures of every exported generator (TF Serving's `signature_name`).
SIGNATURES = ("serving_default", "render")

# The deepest JSON a request may nest: a valid predict body nests 4 levels
# ({"instances": [{"z": [...]}]}). Checked before parsing, so that a body of
# thousands of `[` costs one pass over its bytes, not a parser recursion.
MAX_JSON_DEPTH = 32
_DEPTH_STEP = np.zeros(256, np.int32)
_DEPTH_STEP[[ord("["), ord("{")]] = 1
_DEPTH_STEP[[ord("]"), ord("}")]] = -1
FLOAT32_MAX = float(np.finfo(np.float32).max)

# A seed or n: ASCII digits (`int` would take "１", " 1", "+1" and "1_0"), at most 19
# (2**63 has 19).
_QUERY_INT = re.compile(r"[0-9]{1,19}")

# The part of a path after `/v1/models/`: NAME, then a version or a label, then
# `/metadata`, `/files/FILE` or `:VERB`.
MODEL_PATH = re.compile(
    r"^(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?"
    r"(?:(?P<meta>/metadata)|/files/(?P<file>[^/:]+)|:(?P<verb>[A-Za-z]+))?\Z")


class ApiError(Exception):
    """A request the server refuses, answered as `{"error": message}`.

    Args:
        status: int. The HTTP status code (TF Serving's: 400, 404, 405, 413).
        message: str. What was wrong and what would be accepted.
        headers: dict. Extra response headers (such as `Allow`). Defaults to None.
    """

    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def json_depth(body):
    """The deepest bracket nesting of a body (brackets inside strings count too:
    no valid request has any)."""
    if not body:
        return 0
    return int(np.cumsum(_DEPTH_STEP[np.frombuffer(body, np.uint8)]).max(initial=0))


def parse_json(body):
    """The JSON value of a request body, or a 400 (too deep, malformed, not UTF-8).

    Args:
        body: bytes. The request body.
    """
    depth = json_depth(body)
    if depth > MAX_JSON_DEPTH:
        raise ApiError(400, f"request body nests JSON {depth} levels deep; the limit is "
                            f"{MAX_JSON_DEPTH}")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise ApiError(400, f"malformed JSON in request body: {e}") from e


def check_body_size(declared, max_body_bytes):
    """A 413 when a request's `Content-Length` is over the limit.

    Args:
        declared: str. The `Content-Length` header, or None. Only ASCII digits
            count here, as in versions; anything else meets the check on the
            bytes as they stream in.
        max_body_bytes: int. The largest body accepted.
    """
    if declared and VERSION_PATTERN.fullmatch(declared) and int(declared) > max_body_bytes:
        raise ApiError(413, f"request body of {declared} bytes exceeds the limit of "
                            f"{max_body_bytes} bytes")


def parse_signature(payload):
    """The `signature_name` of a predict body (`serving_default` when left out), or a 400."""
    signature = payload.get("signature_name", "") if isinstance(payload, dict) else ""
    if not isinstance(signature, str):
        raise ApiError(400, "'signature_name' must be a string, got "
                            f"{type(signature).__name__}")
    signature = signature or "serving_default"
    if signature not in SIGNATURES:
        raise ApiError(400, f"Serving signature name: \"{signature}\" not found in "
                            f"signature def; this server has {', '.join(SIGNATURES)}")
    return signature


def parse_inputs(body, latent_dim, max_batch, class_names=None):
    """`(z, labels, row)` of a predict body, in row or columnar format.

    `labels` is None for an unconditional model; a conditional one (with
    `class_names`) needs a `label` (index or class name) for every latent.

    Args:
        body: the parsed JSON body.
        latent_dim: int. The model's latent size.
        max_batch: int. Most latents accepted.
        class_names: list of str. The classes of a conditional model. Defaults to None.
    """
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object with 'instances' or 'inputs'")
    if ("instances" in body) == ("inputs" in body):
        raise ApiError(400, "request must have exactly one of 'instances' (row format) or "
                            "'inputs' (columnar format)")
    names = {"z", "label"} if class_names else {"z"}
    says = ("this signature's inputs are 'z' and 'label'" if class_names
            else "this signature's only input is 'z'")
    row = "instances" in body
    data = body["instances"] if row else body["inputs"]
    labels = None
    if row and isinstance(data, list) and data and all(isinstance(x, dict) for x in data):
        if any(set(x) != names for x in data):
            raise ApiError(400, "each instance must be "
                                + ('{"z": [...], "label": ...}' if class_names else
                                   'a list of numbers or {"z": [...]}') + f"; {says}")
        if class_names:
            labels = [x["label"] for x in data]
        data = [x["z"] for x in data]
    elif isinstance(data, dict):
        if set(data) != names:
            unknown = sorted(set(data) - names)
            raise ApiError(400, (f"unknown input(s) {unknown}; " if unknown else
                                 f"missing input(s) {sorted(names - set(data))}; ") + says)
        if class_names:
            labels = data["label"]
        data = data["z"]
    elif class_names:
        raise ApiError(400, f"this model is conditional: {says}; send instances "
                            '[{"z": [...], "label": ...}] or inputs {"z": [...], "label": [...]}')
    z = parse_latents(data, latent_dim, max_batch)
    if class_names:
        labels = parse_labels(labels, len(z), class_names)
    return z, labels, row


def parse_labels(labels, n, class_names):
    """int labels `(n,)` from a request's `label` (ints or class names), or a 400."""
    from keras_genart.latents import resolve_labels

    if not isinstance(labels, list):
        labels = [labels] if n == 1 and not isinstance(labels, dict) else labels
    if not isinstance(labels, list) or len(labels) != n:
        raise ApiError(400, f"'label' must be a list of {n} classes (one per latent), got "
                            f"{type(labels).__name__}"
                            + (f" of {len(labels)}" if isinstance(labels, list) else ""))
    for label in labels:
        if not (isinstance(label, str) or (isinstance(label, int)
                                           and not isinstance(label, bool))):
            raise ApiError(400, f"each 'label' must be a class index (DT_INT64) or a class "
                                f"name, got {json.dumps(label)}")
    try:
        return resolve_labels(labels, n, class_names)
    except ValueError as error:
        raise ApiError(400, str(error)) from None


def parse_latents(data, latent_dim, max_batch):
    """The `z` batch of a request: finite float32 `[batch, latent_dim]`, or a 400."""
    if not isinstance(data, list):
        raise ApiError(400, f"'z' must be a list of latent vectors, got {type(data).__name__}")
    if len(data) > max_batch:
        raise ApiError(400, f"batch of {len(data)} exceeds the server's limit of "
                            f"{max_batch} per request")
    # NumPy would turn true/false into 1/0: refuse booleans explicitly.
    if any(isinstance(v, bool) for row in data if isinstance(row, list) for v in row):
        raise ApiError(400, "'z' must hold numbers (DT_FLOAT), got booleans")
    try:
        z = np.array(data)
    except ValueError as e:
        raise ApiError(400, f"'z' must be a rectangular [batch, {latent_dim}] array of "
                            f"numbers: {e}") from e
    if z.size and z.dtype.kind not in "iuf":
        raise ApiError(400, f"'z' must hold numbers (DT_FLOAT), got {z.dtype.kind!r}-kind "
                            "values such as strings or booleans")
    if z.ndim != 2 or z.shape[0] < 1 or z.shape[1] != latent_dim:
        raise ApiError(400, f"'z' must have shape [batch, {latent_dim}] with batch >= 1, got "
                            f"{list(z.shape)}")
    if not (np.abs(z) <= FLOAT32_MAX).all():  # also false for NaN
        raise ApiError(400, "'z' holds NaN, Infinity or a number beyond float32's range "
                            f"(|z| <= {FLOAT32_MAX:.8g}); latents must be finite float32 numbers")
    return z.astype(np.float32)


def _query_int(query, name, default):
    """A whole number of a query, in ASCII digits only (as versions and classes are)."""
    text = query.get(name)
    if text is None:
        return default
    if not _QUERY_INT.fullmatch(text):
        raise ApiError(400, f"{name} must be a whole number in ASCII digits, got "
                            f"{text[:40]!r}")
    return int(text)


def parse_sample_query(query, label_names, max_sample):
    """`(seed, n, label, truncation)` of a `:sample` request's query, or a 400.

    Args:
        query: mapping. The query parameters (`seed`, `n`, `class`, `truncation`).
        label_names: list of str. The classes the model can be asked for
            (a conditional model's, or latent-coded ones), or empty.
        max_sample: int. Most pictures per grid.
    """
    from keras_genart.latents import check_truncation, label_from_text, resolve_labels

    seed, n = (_query_int(query, name, default) for name, default in (("seed", 0), ("n", 16)))
    if not 0 <= seed < 2 ** 63 or not 1 <= n <= max_sample:
        raise ApiError(400, f"need 0 <= seed < 2**63 and 1 <= n <= {max_sample}, got "
                            f"seed={seed}, n={n}")
    truncation = query.get("truncation")
    try:
        label = label_from_text(query.get("class"), label_names)
        resolve_labels(label, n, label_names)  # a bad class is a 400 here
        if truncation is not None:
            truncation = check_truncation(truncation)
    except ValueError as error:
        raise ApiError(400, str(error)) from None
    return seed, n, label, truncation
