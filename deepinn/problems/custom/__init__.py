"""``problem=custom``: the compiler of a PDE problem written in configuration (docs/yaml_pde.md).

:func:`build_custom` is the problem factory and :class:`CustomParams` its schema; the modules
below hold one step each: the schema (``_schema``), the geometry (``_domain``), the data files
(``_data``), one configured constraint (``_constraints``) and the problem itself (``_compiler``).
"""

from deepinn.problems.custom._compiler import build_custom as build_custom
from deepinn.problems.custom._compiler import expression_operators as expression_operators
from deepinn.problems.custom._schema import ConstraintSpec as ConstraintSpec
from deepinn.problems.custom._schema import CustomParams as CustomParams

__all__ = ["ConstraintSpec", "CustomParams", "build_custom", "expression_operators"]
