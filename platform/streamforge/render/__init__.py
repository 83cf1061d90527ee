"""Render: pure functions from the checked model (and the host's facts) to files.

`env.render` renders a whole env; `output.write` writes it for the user to read."""
