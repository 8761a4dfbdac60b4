"""TOML on every Python the package supports: the standard library's tomllib from 3.11, tomli on 3.10."""

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["tomllib"]
