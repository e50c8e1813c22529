"""A small, safe expression language for problems written in configuration.

``"u_t + u*u_x - nu*u_xx"`` is parsed with ``ast.parse`` and checked against a whitelist of
syntax; nothing is ever evaluated as Python. The result is an :class:`Expression` evaluated on a
:class:`~deepinn.operators.Field` (residuals) or on points (values, sources, exact solutions),
which also knows the derivatives it takes (``order``, ``second_order``, ``laplacian_only``).
See ``docs/expressions.md`` for the language.
"""

from deepinn.expressions._compile import ParameterValue as ParameterValue
from deepinn.expressions._expression import Expression as Expression
from deepinn.expressions._expression import compile_function as compile_function
from deepinn.expressions._expression import compile_residual as compile_residual
from deepinn.expressions._expression import parse as parse
from deepinn.expressions._functions import CONSTANTS as CONSTANTS
from deepinn.expressions._functions import FUNCTIONS as FUNCTIONS
from deepinn.expressions._functions import MathFunction as MathFunction
from deepinn.expressions._operators import MAX_ORDER as MAX_ORDER
from deepinn.expressions._operators import OPERATORS as OPERATORS
from deepinn.expressions._operators import Derivative as Derivative
from deepinn.expressions._operators import ExpressionOperator as ExpressionOperator
from deepinn.expressions._operators import OperatorCall as OperatorCall
from deepinn.expressions._operators import OperatorScope as OperatorScope
from deepinn.expressions._parse import MAX_DEPTH as MAX_DEPTH
from deepinn.expressions._parse import MAX_EXPONENT as MAX_EXPONENT
from deepinn.expressions._parse import MAX_LENGTH as MAX_LENGTH
from deepinn.expressions._parse import MAX_NODES as MAX_NODES

__all__ = [
    "CONSTANTS",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_NODES",
    "MAX_ORDER",
    "OPERATORS",
    "Derivative",
    "Expression",
    "ExpressionOperator",
    "MathFunction",
    "OperatorCall",
    "OperatorScope",
    "ParameterValue",
    "compile_function",
    "compile_residual",
    "parse",
]
