"""lxdapi's core, installed as the package ``saltext_lxdapi.utils``.

The core's modules import each other by their flat names (``lxdapi``, ``lxdapi_plans``...),
as Salt loads them from a ``_utils`` folder. Importing this package loads the core through
:func:`lxdapi_loader.load` from this folder and makes every
``saltext_lxdapi.utils.<module>`` the very module ``<module>``: one core, one
``lxdapi.APIException`` class, whichever of the two names reached it.

Salt's own loader skips this file (its name starts with ``_``).
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import lxdapi_loader  # noqa: E402 - found in this folder, just put on sys.path

lxdapi_loader.load(_HERE)

for _name in lxdapi_loader.MODULES + ("lxdapi_loader",):
    sys.modules[__name__ + "." + _name] = sys.modules[_name]
    globals()[_name] = sys.modules[_name]
