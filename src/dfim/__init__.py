"""DFIM: Deep Feature Interaction Maps for neural-network models of regulatory DNA.

The public API keeps the names of the 2018 notebook (Greenside et al.,
Bioinformatics 2018) with documented, array-based signatures.
"""

__version__ = "0.1.0"

# The public names of the 2018 notebook, imported on first use so that
# `import dfim` does not start TensorFlow.
_PUBLIC = {
    "generate_mutants_and_key": "mutants",
    "compute_importance": "importance",
    "compute_delta_profiles": "deltas",
    "compute_dfim": "maps",
    "assign_pval": "stats",
    "plot_delta_tracks": "logos",
    "plot_dfim": "plots",
    "MutationSpecs": "specs",
    "load_model": "models",
    "one_hot": "sequences",
    "null_sequences": "null",
    "null_specs": "null",
    "bh_qvalues": "stats",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
    raise AttributeError(f"module 'dfim' has no attribute {name!r}")
