"""The typed model: one module per kind of file (env, component, service) and per part of an
env (nodes, provider), with the shared building blocks (base) and address parsers (addresses).

`Chart` and `KindProvider` are re-exported only for plan/actions.py and plan/up.py, which
import them from here; import from .component and .provider there and drop these lines.
"""

from streamforge.model.schema.component import Chart
from streamforge.model.schema.provider import KindProvider

__all__ = ["Chart", "KindProvider"]
