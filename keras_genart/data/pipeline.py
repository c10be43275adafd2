"""The tf.data pipeline shared by every source: cache, shuffle, batch, prefetch."""

from keras_genart.errors import UserInputError


def make_dataset(data, batch_size, shuffle=True, seed=0, repeat=True,
                 cache=True, shuffle_buffer=10_000):
    """Batches an `ImageData` for training.

    Decoded images are cached once (in memory), shuffled with a seed, batched
    with `drop_remainder=True` (fixed shapes for XLA and BatchNorm), scaled to
    [-1, 1] float32 and prefetched.

    Args:
        data: `keras_genart.data.ImageData`.
        batch_size: int. Images per batch; at most the number of images.
        shuffle: bool. Defaults to True.
        seed: int. Shuffle seed. Defaults to 0.
        repeat: bool. Repeat forever (fit then needs `steps_per_epoch`).
            Defaults to True.
        cache: bool. Cache decoded images in memory. Defaults to True.
        shuffle_buffer: int. Defaults to 10000.

    Returns:
        `tf.data.Dataset` of float32 `(batch, s, s, 3)` images in [-1, 1], or of
        `(images, labels)` when the data has classes.
    """
    import tensorflow as tf

    if batch_size < 1:
        raise UserInputError(f"batch size must be at least 1, got {batch_size}")
    if data.num_images < batch_size:
        raise UserInputError(
            f"{data.summary['source']} has {data.num_images} usable images, fewer "
            f"than the batch size {batch_size}; lower --batch-size or add images"
        )
    ds = data.dataset
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(min(data.num_images, shuffle_buffer), seed=seed,
                        reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=True)

    def scale(images, *labels):
        images = tf.cast(images, tf.float32) / 127.5 - 1.0
        return (images, *labels) if labels else images

    ds = ds.map(scale, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)
