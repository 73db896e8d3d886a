"""vbvf: verifier-based vs verifier-free scaling of test-time compute (Setlur et al., ICML 2025)."""

__version__ = "0.1.0"
