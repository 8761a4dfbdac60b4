"""The standard library of .med files, shipped as package data (medpolicy.stdlib)."""
