"""`maskcheck fix`: repair what is safe, show the diff first, never lose data.

`jsonedit` edits a JSON text by pointer leaving every other byte alone, `writing` writes files
atomically with a hash check and a backup, `diff` renders what would change for `patch -p1`.
"""
