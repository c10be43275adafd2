"""A procedural abstract-art data set, made on the fly: no files, no download.

Five styles of composition, each a class:

- `bauhaus`: a grid of tiles, each holding a quarter circle, half circle, circle
  or triangle in a Bauhaus palette.
- `kandinsky`: concentric circles, crossing lines and a few sharp shapes on a
  warm or dark ground (after Kandinsky's *Squares with Concentric Circles* and
  *Composition VIII*).
- `mondrian`: a recursive split of the canvas into rectangles with thick black
  borders, a few filled with red, blue or yellow.
- `op_art`: two-colour wavy or concentric stripes (after Bridget Riley).
- `suprematism`: tilted bars and a circle on a pale ground (after Malevich).

Each image is drawn with Pillow at 4x (at most 256 px) and downsampled with
antialiasing. Image `i` of seed `s` depends on `(s, i)` only, so a set is
deterministic for its seed whatever its size or the order in which it is made.
"""

import math

import numpy as np
from PIL import Image, ImageDraw

STYLES = ("bauhaus", "kandinsky", "mondrian", "op_art", "suprematism")

# Names accepted after `builtin:`; "abstract" is all styles, balanced.
DATASETS = ("abstract", *STYLES)

_CREAM = (242, 236, 222)
_BLACK = (24, 24, 24)
_RED = (214, 42, 30)
_BLUE = (30, 63, 154)
_YELLOW = (245, 200, 32)
_WHITE = (250, 250, 247)
_BAUHAUS = (_CREAM, _BLACK, _RED, _BLUE, _YELLOW)
_KANDINSKY = (
    (214, 42, 30), (30, 63, 154), (245, 200, 32), (36, 140, 90),
    (120, 40, 140), (240, 120, 30), (24, 24, 24), (80, 170, 220),
)


def _pick(rng, items):
    return items[int(rng.integers(len(items)))]


def _bauhaus(image, rng, size):
    tiles = int(rng.integers(2, 4))
    step = size // tiles
    for r in range(tiles):
        for c in range(tiles):
            ground = _pick(rng, _BAUHAUS)
            shape_colour = _pick(rng, [p for p in _BAUHAUS if p != ground])
            # Each tile is drawn on its own canvas so that shapes are clipped
            # to their tile, as in the tiled Bauhaus posters.
            tile = Image.new("RGB", (step, step), ground)
            draw = ImageDraw.Draw(tile)
            kind = int(rng.integers(4))
            if kind == 0:  # quarter circle from a corner
                cx = step * int(rng.integers(2))
                cy = step * int(rng.integers(2))
                draw.ellipse([cx - step, cy - step, cx + step, cy + step],
                             fill=shape_colour)
            elif kind == 1:  # half circle on an edge
                start = 90 * int(rng.integers(4))
                draw.pieslice([0, 0, step, step], start, start + 180,
                              fill=shape_colour)
            elif kind == 2:  # circle
                m = step * 0.15
                draw.ellipse([m, m, step - m, step - m], fill=shape_colour)
            else:  # triangle
                corners = [(0, 0), (step, 0), (step, step), (0, step)]
                skip = int(rng.integers(4))
                draw.polygon([p for i, p in enumerate(corners) if i != skip],
                             fill=shape_colour)
            image.paste(tile, (c * step, r * step))


def _kandinsky(draw, rng, size):
    ground = _CREAM if rng.random() < 0.7 else (28, 34, 60)
    draw.rectangle([0, 0, size, size], fill=ground)
    for _ in range(int(rng.integers(2, 5))):
        cx, cy = rng.uniform(0.15, 0.85, 2) * size
        radius = rng.uniform(0.1, 0.3) * size
        for ring in range(int(rng.integers(2, 5)), 0, -1):
            r = radius * ring / 4
            draw.ellipse([cx - r, cy - r, cx + r, cy + r],
                         fill=_pick(rng, _KANDINSKY))
    line_colour = _BLACK if ground == _CREAM else _CREAM
    for _ in range(int(rng.integers(2, 6))):
        x0, y0, x1, y1 = rng.uniform(0, 1, 4) * size
        draw.line([x0, y0, x1, y1], fill=line_colour,
                  width=max(1, int(size * rng.uniform(0.006, 0.02))))
    for _ in range(int(rng.integers(0, 3))):
        pts = rng.uniform(0.05, 0.95, (3, 2)) * size
        draw.polygon([tuple(p) for p in pts], fill=_pick(rng, _KANDINSKY))


def _mondrian(draw, rng, size):
    draw.rectangle([0, 0, size, size], fill=_WHITE)
    line = max(2, int(size * 0.03))
    boxes = [(0.0, 0.0, float(size), float(size))]
    for _ in range(int(rng.integers(3, 7))):
        i = int(rng.integers(len(boxes)))
        x0, y0, x1, y1 = boxes.pop(i)
        if (x1 - x0) >= (y1 - y0):
            cut = x0 + (x1 - x0) * rng.uniform(0.3, 0.7)
            boxes += [(x0, y0, cut, y1), (cut, y0, x1, y1)]
        else:
            cut = y0 + (y1 - y0) * rng.uniform(0.3, 0.7)
            boxes += [(x0, y0, x1, cut), (x0, cut, x1, y1)]
    colours = [_RED, _BLUE, _YELLOW, _BLACK]
    for x0, y0, x1, y1 in boxes:
        fill = _pick(rng, colours) if rng.random() < 0.35 else _WHITE
        draw.rectangle([x0, y0, x1, y1], fill=fill, outline=_BLACK, width=line)


def _op_art(image, rng, size):
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    freq = rng.uniform(6, 14) * math.pi
    if rng.random() < 0.5:
        amp = rng.uniform(0.03, 0.12)
        wave = np.sin(freq * (x + amp * np.sin(rng.uniform(4, 10) * y + rng.uniform(0, 6))))
    else:
        cx, cy = rng.uniform(0.2, 0.8, 2)
        wave = np.sin(freq * np.sqrt((x - cx) ** 2 + (y - cy) ** 2))
    a = np.array(_BLACK, np.uint8)
    b = np.array(_WHITE if rng.random() < 0.6 else _pick(rng, _KANDINSKY[:3]),
                 np.uint8)
    pixels = np.where((wave > 0)[..., None], a, b)
    if rng.random() < 0.5:
        pixels = pixels.transpose(1, 0, 2)
    image.paste(Image.fromarray(np.ascontiguousarray(pixels), "RGB"))


def _suprematism(draw, rng, size):
    ground = _WHITE if rng.random() < 0.6 else _CREAM
    draw.rectangle([0, 0, size, size], fill=ground)
    angle = rng.uniform(-0.8, 0.8)
    for _ in range(int(rng.integers(3, 8))):
        cx, cy = rng.uniform(0.15, 0.85, 2) * size
        w = rng.uniform(0.05, 0.6) * size
        h = rng.uniform(0.03, 0.15) * size
        a = angle + rng.normal(0, 0.15)
        ca, sa = math.cos(a), math.sin(a)
        pts = [(cx + dx * ca - dy * sa, cy + dx * sa + dy * ca)
               for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2),
                              (w / 2, h / 2), (-w / 2, h / 2))]
        draw.polygon(pts, fill=_pick(rng, (_BLACK, _RED, _BLUE, _YELLOW, _BLACK)))
    if rng.random() < 0.5:
        cx, cy = rng.uniform(0.2, 0.8, 2) * size
        r = rng.uniform(0.05, 0.15) * size
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=_pick(rng, (_BLACK, _RED)))


def render(style, image_size, rng):
    """Draws one picture of a style.

    Args:
        style: str. One of `STYLES`.
        image_size: int. Side of the square output in pixels.
        rng: `numpy.random.Generator`. Source of all randomness.

    Returns:
        uint8 array `(image_size, image_size, 3)`.
    """
    canvas = min(256, 4 * image_size)
    image = Image.new("RGB", (canvas, canvas), _WHITE)
    draw = ImageDraw.Draw(image)
    if style == "bauhaus":
        image.paste(_CREAM, (0, 0, canvas, canvas))
        _bauhaus(image, rng, canvas)
    elif style == "kandinsky":
        _kandinsky(draw, rng, canvas)
    elif style == "mondrian":
        _mondrian(draw, rng, canvas)
    elif style == "op_art":
        _op_art(image, rng, canvas)
    elif style == "suprematism":
        _suprematism(draw, rng, canvas)
    else:
        raise ValueError(f"unknown style {style!r}; choose from {STYLES}")
    if canvas != image_size:
        image = image.resize((image_size, image_size), Image.LANCZOS)
    return np.asarray(image, dtype=np.uint8)


def make_art(name="abstract", num_images=4096, image_size=32, seed=0):
    """Makes the built-in art set.

    Args:
        name: str. `"abstract"` for all styles (labels 0..4, balanced) or one
            style name (one class). Defaults to `"abstract"`.
        num_images: int. Number of images. Defaults to 4096.
        image_size: int. Side in pixels. Defaults to 32.
        seed: int. Seed; the same seed gives the same images. Defaults to 0.

    Returns:
        `(images, labels, class_names)`: uint8 `(n, s, s, 3)`, int32 `(n,)`,
        list of str.

    Example:
    >>> images, labels, names = make_art("abstract", 8, image_size=32, seed=1)
    >>> images.shape, names[labels[0]]
    ((8, 32, 32, 3), 'bauhaus')
    """
    if name not in DATASETS:
        raise ValueError(
            f"unknown built-in data set {name!r}; choose from {', '.join(DATASETS)}"
        )
    images = np.empty((num_images, image_size, image_size, 3), np.uint8)
    labels = np.empty((num_images,), np.int32)
    for i in range(num_images):
        images[i], labels[i] = draw(name, i, image_size, seed)
    return images, labels, list(styles_of(name))


def styles_of(name):
    """The styles (classes) of a built-in set: all of them for "abstract", else one."""
    return STYLES if name == "abstract" else (name,)


def draw(name, index, image_size, seed):
    """Picture `index` of a built-in set and its label: `(uint8 square, int)`.

    A function of `(seed, index)` only, so a set can be drawn in any order, in
    chunks or in worker processes, and be the same.
    """
    styles = styles_of(name)
    label = index % len(styles)
    return render(styles[label], image_size, np.random.default_rng([int(seed), index])), label
