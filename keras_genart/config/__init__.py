"""The one place a setting of a training run is declared.

A run is `TrainConfig(model=ModelConfig(...), data=DataConfig(...),
fit=FitConfig(...), seed, run_dir)`. Each field carries its help text and its
kind of value; `genart train`'s flags are made from the fields
(`add_arguments`), `config.json` records them (`run_record`), and
`build_model` takes a `ModelConfig`. What `"auto"` means is decided once, in
`resolve`, from the model type's preset (`PRESETS`) and what the data holds
(its classes, whether its pictures are gray). A new setting is one field here
plus the code that uses it.

Imports nothing heavy: `genart train --help` and every check of a config run
without Keras.

Example:
>>> config = TrainConfig.from_flat(model="dcgan", data="builtin:abstract:64",
...                                image_size=16, epochs=2)
>>> resolve(config, classes=["a", "b"]).model.latent_classes
True
"""


from keras_genart.config.arguments import add_arguments, from_arguments
from keras_genart.config.fields import (GROUPS, DataConfig, FitConfig, ModelConfig, TrainConfig,
                                        check_data_exists, check_train, run_preset,
                                        setting)
from keras_genart.config.kinds import (AUTO, augment_list, bool_or_auto, boolean, ema_decay,
                                       image_size, jit_mode, non_negative_float,
                                       non_negative_int, one_of, positive_float,
                                       positive_int, text, unit_float)
from keras_genart.config.presets import PRESETS, RUN_PRESETS
from keras_genart.config.record import (ADDED_SETTINGS, CONFIG_VERSION, SavedRun,
                                        read_run_config, resume_settings, run_record,
                                        training_config)
from keras_genart.config.resolve import (compile_jit, optimizer_settings, resolve,
                                         resolve_model)

__all__ = ["ADDED_SETTINGS", "AUTO", "CONFIG_VERSION", "DataConfig", "FitConfig", "GROUPS",
           "ModelConfig", "PRESETS", "RUN_PRESETS", "SavedRun", "TrainConfig",
           "add_arguments", "augment_list", "bool_or_auto", "boolean", "check_data_exists",
           "check_train", "compile_jit", "ema_decay", "from_arguments", "image_size", "jit_mode",
           "non_negative_float", "non_negative_int", "one_of", "optimizer_settings",
           "positive_float", "positive_int", "read_run_config", "resolve", "resolve_model",
           "resume_settings", "run_preset", "run_record", "setting", "text",
           "training_config", "unit_float"]
