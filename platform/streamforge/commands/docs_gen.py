"""Kept only for `execute/replica.py`, which is being rewritten: the docs site's code is the
package `streamforge.commands.docs`. Delete this file once replica.py imports
`streamforge.commands.docs.site_stamp`."""

from streamforge.commands.docs.site_stamp import built_site

__all__ = ["built_site"]
