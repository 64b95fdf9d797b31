"""The door: enrichment every post gets before it is stored and matched."""
