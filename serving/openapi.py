"""The OpenAPI document of `genart serve`: the REST contract of the models it serves now.

Served at `/openapi.json` (and read by `/docs`). It is made per request from
the model base folder, so each model's paths carry its own latent size and
its versions: `/v1/models/NAME`, `.../metadata`, `...:predict` (row and
columnar bodies) and `...:sample`, each also under `/versions/{version}`.
Every error answer is `{"error": "..."}`. Schema-driven fuzzers
(schemathesis) test the server against it.
"""

from keras_genart.latents import MIN_TRUNCATION

ERROR = {"type": "object", "required": ["error"], "additionalProperties": False,
         "properties": {"error": {"type": "string"}}}

# What the server accepts in a latent: any finite number within float32's range.
FLOAT32_MAX = 3.4028234663852886e38


def _json(schema, description):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes):
    text = {400: "bad request", 404: "no such model or version",
            405: "wrong method for this path", 408: "request body not received in time",
            413: "request body too large"}
    return {str(c): _json({"$ref": "#/components/schemas/Error"}, text[c]) for c in codes}


def _status_schema():
    return {"type": "object", "required": ["model_version_status"], "properties": {
        "model_version_status": {"type": "array", "items": {
            "type": "object", "required": ["version", "state", "status"], "properties": {
                "version": {"type": "string", "pattern": "^[0-9]+$"},
                "state": {"type": "string"},
                "status": {"type": "object", "properties": {
                    "error_code": {"type": "string"}, "error_message": {"type": "string"}}}}}}}}


def _label_schema(class_names):
    """A conditional model's class: an index (DT_INT64) or a class name."""
    return {"oneOf": [{"type": "integer", "minimum": 0, "maximum": len(class_names) - 1},
                      {"type": "string", "enum": list(class_names)}]}


def _predict_schemas(latent_dim, image_size, channels, max_batch, class_names=None):
    latent = {"type": "array", "minItems": latent_dim, "maxItems": latent_dim,
              "items": {"type": "number", "minimum": -FLOAT32_MAX, "maximum": FLOAT32_MAX}}
    batch = {"type": "array", "minItems": 1, "maxItems": max_batch, "items": latent}
    inputs = ["z", "label"] if class_names else ["z"]
    instance = {"z": latent}
    columns = {"z": batch}
    if class_names:
        instance["label"] = _label_schema(class_names)
        columns["label"] = {"type": "array", "minItems": 1, "maxItems": max_batch,
                            "items": _label_schema(class_names)}
    named = {"type": "array", "minItems": 1, "maxItems": max_batch, "items": {
        "type": "object", "required": inputs, "additionalProperties": False,
        "properties": instance}}
    columnar = {"type": "object", "required": inputs, "additionalProperties": False,
                "properties": columns}
    signature = {"type": "string", "enum": ["serving_default", "render", ""],
                 "description": "serving_default: pixels; render: base64 PNGs"}
    # A conditional model needs its labels: named inputs only.
    rows = named if class_names else {"oneOf": [batch, named]}
    cols = columnar if class_names else {"oneOf": [batch, columnar]}
    request = {"oneOf": [
        {"type": "object", "required": ["instances"], "not": {"required": ["inputs"]},
         "properties": {"signature_name": signature, "instances": rows}},
        {"type": "object", "required": ["inputs"], "not": {"required": ["instances"]},
         "properties": {"signature_name": signature, "inputs": cols}},
    ]}
    pixel = {"type": "number", "minimum": 0, "maximum": 1}
    image = {"type": "array", "minItems": image_size, "maxItems": image_size, "items": {
        "type": "array", "minItems": image_size, "maxItems": image_size, "items": {
            "type": "array", "minItems": channels, "maxItems": channels, "items": pixel}}}
    png = {"type": "object", "required": ["b64"], "properties": {"b64": {"type": "string"}}}
    values = {"type": "array", "minItems": 1, "maxItems": max_batch,
              "items": {"oneOf": [image, png]}}
    response = {"type": "object", "oneOf": [
        {"required": ["predictions"], "properties": {"predictions": values}},
        {"required": ["outputs"], "properties": {"outputs": values}}]}
    return request, response


def _limits(max_batch, max_body_bytes, max_sample, body_seconds):
    """The bounds on the work of one request: `(x-limits object, the same in words)`."""
    from keras_genart.serving.requests import MAX_JSON_DEPTH

    limits = {"max_batch": max_batch, "max_body_bytes": max_body_bytes,
              "max_sample": max_sample, "body_seconds": body_seconds,
              "max_json_depth": MAX_JSON_DEPTH, "min_truncation": MIN_TRUNCATION,
              "max_truncation": 1}
    words = (f"Each request's work is bounded: a body of at most {max_body_bytes} bytes, "
             f"nested at most {MAX_JSON_DEPTH} levels, received within {body_seconds:g} s "
             f"(else 413, 400, 408); at most {max_batch} latents per :predict and "
             f"{max_sample} pictures per :sample, truncation in [{MIN_TRUNCATION:g}, 1] "
             "(else 400).")
    return limits, words


def openapi_document(repository, max_batch, max_body_bytes, max_sample, body_seconds=30):
    """The document for the models `repository` serves now (a dict, JSON-ready).

    Args:
        repository: ModelRepository. The models served.
        max_batch: int. Most latents per predict request.
        max_body_bytes: int. Largest request body.
        max_sample: int. Most pictures per `:sample` grid.
        body_seconds: float. Most seconds to receive a request body. Defaults to 30.
    """
    from keras_genart.serving.requests import ApiError

    version_header = {"X-Model-Version": {"description": "the version that answered",
                                          "schema": {"type": "string"}}}
    paths = {"/v1/models": {"get": {
        "summary": "the names of the models served", "operationId": "list_models",
        "responses": {"200": _json({"type": "object", "required": ["models"], "properties": {
            "models": {"type": "array", "items": {"type": "string"}}}}, "model names")}}}}
    for name in repository.model_names():
        try:
            versions = repository.served_versions(name)
            _, generator = repository.get(name)
        except ApiError:
            continue  # no version loads: nothing to describe
        version = {"name": "version", "in": "path", "required": True,
                   "schema": {"type": "string", "enum": [str(v) for v in versions]}}
        class_names = generator.class_names
        request, response = _predict_schemas(generator.latent_dim, generator.image_size,
                                             generator.channels, max_batch, class_names)
        controls = [{"name": "truncation", "in": "query", "schema": {
            "type": "number", "minimum": MIN_TRUNCATION, "maximum": 1},
            "description": "the share of each latent value's normal distribution kept (1: "
                           f"none; at least {MIN_TRUNCATION:g}, which bounds the redraws' "
                           "work)"}]
        # Latent-coded classes are asked for here too (by moving the latents), not in
        # :predict, whose signature takes z alone.
        label_names = generator.label_names
        if label_names:
            controls.append({"name": "class", "in": "query", "schema": {
                "type": "string", "enum": list(dict.fromkeys(
                    [*label_names, *(str(i) for i in range(len(label_names)))]))},
                "description": "the class of every picture (default: the classes in turn"
                               + (")" if class_names else ", in the data's shares)")})
        routes = [(f"/v1/models/{name}", [], "latest"),
                  (f"/v1/models/{name}/versions/{{version}}", [version], "version")]
        labels = sorted(repository.labels(name))
        if labels:  # a model config file's version_labels
            routes.append((f"/v1/models/{name}/labels/{{label}}", [
                {"name": "label", "in": "path", "required": True,
                 "schema": {"type": "string", "enum": labels}}], "label"))
        for prefix, params, tag in routes:
            op = f"{name}_{tag}".replace("-", "_").replace(".", "_")
            paths[prefix] = {"get": {
                "summary": f"status of {name} ({tag})", "operationId": f"{op}_status",
                "parameters": params,
                "responses": {"200": _json(_status_schema(), "version status"),
                              **_errors(404)}}}
            paths[prefix + "/metadata"] = {"get": {
                "summary": f"signature defs of {name} ({tag})", "operationId": f"{op}_metadata",
                "parameters": params,
                "responses": {"200": _json({"type": "object",
                                            "required": ["model_spec", "metadata"]},
                                           "signature defs"), **_errors(404)}}}
            paths[prefix + ":predict"] = {"post": {
                "summary": f"pictures from latents `z` [batch, {generator.latent_dim}]"
                           + (" and class labels" if class_names else ""),
                "operationId": f"{op}_predict", "parameters": params,
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": request}}},
                "responses": {"200": {**_json(response, "pixels in [0, 1] or PNGs"),
                                      "headers": version_header},
                              **_errors(400, 404, 408, 413)}}}
            paths[prefix + ":sample"] = {"get": {
                "summary": "a PNG grid of n pictures from a seed (keras_genart's own)",
                "operationId": f"{op}_sample",
                "parameters": [*params,
                               {"name": "seed", "in": "query", "schema": {
                                   "type": "integer", "minimum": 0, "maximum": 2 ** 63 - 1,
                                   "default": 0}},
                               {"name": "n", "in": "query", "schema": {
                                   "type": "integer", "minimum": 1, "maximum": max_sample,
                                   "default": 16}}, *controls],
                "responses": {"200": {"description": "PNG grid", "headers": version_header,
                                      "content": {"image/png": {"schema": {
                                          "type": "string", "format": "binary"}}}},
                              **_errors(400, 404)}}}
            files = sorted(["metadata.json", *(f for f in generator.metadata.get("sha256", {})
                                               if f.endswith(".onnx"))])
            paths[prefix + "/files/{file}"] = {"get": {
                "summary": f"a file of the exported version: {', '.join(files)}",
                "operationId": f"{op}_file",
                "parameters": [*params, {"name": "file", "in": "path", "required": True,
                                         "schema": {"type": "string", "enum": files}}],
                "responses": {"200": {"description": "the file", "headers": version_header,
                                      "content": {"application/octet-stream": {"schema": {
                                          "type": "string", "format": "binary"}}}},
                              **_errors(404)}}}
    paths["/studio/models.json"] = {"get": {
        "summary": "the models, the versions served and the newest one's metadata (the "
                   "studio page, /studio/, reads it)",
        "operationId": "studio_models",
        "responses": {"200": _json({"type": "object", "required": ["models"], "properties": {
            "models": {"type": "array", "items": {"type": "object", "required": [
                "name", "versions", "latest", "metadata"]}}}}, "models")}}}
    paths["/monitoring/prometheus/metrics"] = {"get": {
        "summary": "request counts and latency histograms, Prometheus' text format",
        "operationId": "prometheus_metrics",
        "responses": {"200": {"description": "metrics", "content": {
            "text/plain": {"schema": {"type": "string"}}}}}}}
    limits, words = _limits(max_batch, max_body_bytes, max_sample, body_seconds)
    return {
        "openapi": "3.0.3",
        "info": {"title": "keras_genart serving", "version": "1",
                 "description": "TensorFlow Serving's REST API for keras_genart generators. "
                                + words, "x-limits": limits},
        "paths": paths,
        "components": {"schemas": {"Error": ERROR}},
    }
