"""The .med grammar, shipped as package data (medpolicy.grammar)."""
