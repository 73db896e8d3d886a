"""The two arms of the comparison: VF (SFT on successes) and VB (verifier, Best-of-N, RL), with their trainers."""
