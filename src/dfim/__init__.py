"""DFIM: Deep Feature Interaction Maps for neural-network models of regulatory DNA.

The public API keeps the names of the 2018 notebook (Greenside et al.,
Bioinformatics 2018) with documented, array-based signatures.
"""

__version__ = "0.1.0"
