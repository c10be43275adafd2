"""Writes tests/data/*_v0.keras with the code of commit b12a7f9 (before the composable step)."""
import sys
import numpy as np, keras
from keras_genart.models import build_model
out_dir = sys.argv[1]
rng = np.random.default_rng(0)
images = rng.uniform(-1, 1, (4, 16, 16, 3)).astype("float32")
later = rng.uniform(-1, 1, (4, 16, 16, 3)).astype("float32")
out = {"later_batch": later}
for kind, extra in (("dcgan", dict(augmentation=["translate"])),
                    ("wgan-gp", dict(n_critic=2))):
    m = build_model(kind, image_size=16, latent_dim=8, base_width=8, max_width=16, seed=1, **extra)
    m.compile()
    m.train_on_batch(images)
    name = kind.replace("-", "_")
    m.save(f"{out_dir}/{name}_v0.keras")
    out[name] = m.generate(2, seed=3)
    m.train_on_batch(later)
    out[name + "_after_step"] = m.generate(2, seed=3)
np.savez(f"{out_dir}/models_v0_samples.npz", **out)
