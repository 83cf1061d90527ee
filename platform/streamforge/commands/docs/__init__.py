"""The docs site's generated pages, its mkdocs hooks and the check of a built site.

`mkdocs.yml` loads `hooks.py` by file path (`hooks:`); at build time it adds the pages that are
generated from the repository's own data, so no committed copy can drift from that data:

- `reference/components.md`  component/version matrix per env and profile (`reference_pages`)
- `reference/bom.md`         the replica's bill of materials (`reference_pages`)
- `reference/nodes.md`       homelab nodes and the kind nodes that stand for them
                             (`reference_pages`)
- `reference/parity.md`      local vs homelab differences (`reference_pages`)
- `reference/sessions.md`    the nox sessions, read from noxfile.py's docstrings (`sessions_page`)
- `services/index.md`        the service catalog (`services_page`)

`pages` lists them all and expands the chapters marker of written pages; `page_parts` holds
the markdown building blocks; `env_models` loads the envs the pages describe; `hooks` also
stamps the built site with the hash of its inputs (`execute.images.built_site` checks it). Only
`hooks` imports mkdocs, so the pages can be tested and reused without it.
"""
