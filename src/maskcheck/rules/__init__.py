"""Built-in rules. Importing this package registers them."""

from maskcheck.rules import distribution, integrity, labels, structure  # noqa: F401
