"""The command-line entry points (`stadspuls …`)."""
