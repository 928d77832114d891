"""Command line: print the trace, tangent and adjoint of functions in a file or module.

    s2sad samples/lecture.py:seed000_y          one function
    s2sad samples/lecture.py                    every function defined in the file
    s2sad -m package.module:function --reverse  a function from an importable module
    s2sad samples/likelihood.py:gaussian_nll --hessian --wrt mu s   second-order code
    s2sad samples/lecture.py:seed000_y --at x1=2 x2=5   the table of the notes at a point
    s2sad samples/lecture.py:seed000_y --check --at x1=2 x2=5   both modes against finite differences
    s2sad samples/lecture.py:seed000_y --graph y.svg --at x1=2 x2=5   the computation graph
    s2sad export samples/lecture.py:seed000_y -o y_grad.py   tangent and gradient as a module

Exit codes: 0 ok, 1 a problem with the user's program or file, 2 a usage error.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import inspect
import os
import sys
import traceback

import numpy as np

from . import api
from .check import GradientCheckError, check_grad
from .errors import S2SADError, StructureNeededError
from .export import export_source
from .graph import FORMATS, INSTALL_HINT, GraphvizNotFoundError, graph
from .higher import hvp_source


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="s2sad",
        description="Print the SSA trace and the generated tangent and adjoint code of Python functions.",
        epilog="s2sad export FILE.py[:FUNCTION] -o OUT.py writes the derivatives as a module that "
        "runs without s2sad (s2sad export --help).",
    )
    parser.add_argument("target", help="FILE.py[:FUNCTION], or MODULE[:FUNCTION] with -m")
    parser.add_argument(
        "-m", dest="module", action="store_true", help="TARGET names an importable module"
    )
    parser.add_argument("--trace", action="store_true", help="print the SSA primal trace")
    parser.add_argument(
        "--forward", action="store_true", help="print the tangent (forward mode) code"
    )
    parser.add_argument(
        "--reverse", action="store_true", help="print the adjoint (reverse mode) code"
    )
    parser.add_argument(
        "--hessian",
        action="store_true",
        help="print the Hessian-vector product code (forward mode over the reverse-mode gradient)",
    )
    _derivative_options(parser)
    parser.add_argument(
        "--check",
        action="store_true",
        help="with --at: compare both modes with central differences (exit 1 if they disagree)",
    )
    parser.add_argument(
        "--at",
        nargs="+",
        metavar="NAME=VALUE",
        help="evaluate at this point and print the table of the notes: each variable's value, "
        "tangents and adjoint; an array is written as nested lists (W=[[1,2],[3,4]]), a "
        'structure as a dict or tuple (p={"W": [[1,2]], "b": 0.5})',
    )
    parser.add_argument(
        "--graph",
        metavar="PATH",
        help="draw the computation graph to PATH (.svg, .png with Graphviz, or .dot); with --at, "
        "with values, adjoints and partial derivatives at that point",
    )
    return parser


def _derivative_options(parser: argparse.ArgumentParser) -> None:
    """The options both commands take: which inputs, and the long form of the notes."""
    parser.add_argument(
        "--wrt", nargs="+", metavar="PARAM", help="differentiate w.r.t. these (positions or names)"
    )
    parser.add_argument(
        "--teaching", action="store_true", help="keep every step as the lecture notes write it"
    )


def _export_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="s2sad export",
        description="Write the tangent and gradient of functions as a module that runs without s2sad.",
    )
    parser.add_argument("target", help="FILE.py[:FUNCTION], or MODULE[:FUNCTION] with -m")
    parser.add_argument(
        "-m", dest="module", action="store_true", help="TARGET names an importable module"
    )
    parser.add_argument(
        "-o", dest="output", metavar="OUT.py", help="the file to write (default: print)"
    )
    _derivative_options(parser)
    parser.add_argument(
        "--at",
        nargs="+",
        metavar="NAME=VALUE",
        help="example arguments, for a function that uses a parameter as a structure: the code "
        'is for their structures (p={"W": [[0]], "b": [0]}), and serves any shapes of its leaves',
    )
    return parser


class UserError(Exception):
    """A problem with the file or function named on the command line (exit code 1)."""


def load_module(target: str, is_module: bool):
    """The module named by ``target`` (before any ``:FUNCTION``)."""
    if is_module:
        try:
            return importlib.import_module(target)
        except ImportError as err:
            raise UserError(f"cannot import module {target!r}: {err}") from None
    if not os.path.isfile(target):
        raise UserError(f"no such file: {target}")
    name = "_s2sad_cli_" + os.path.splitext(os.path.basename(target))[0].replace("-", "_")
    spec = importlib.util.spec_from_file_location(name, target)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
    try:
        spec.loader.exec_module(module)
    except SyntaxError as err:
        raise UserError(
            f'  File "{err.filename}", line {err.lineno}\n    {(err.text or "").strip()}\n{err.msg}'
        ) from None
    except Exception as err:  # the file's own top-level code failed: say where, without a traceback
        here = os.path.abspath(target)
        tb = traceback.extract_tb(err.__traceback__)
        lines = [f.lineno for f in tb if os.path.abspath(f.filename) == here]
        where = f", line {lines[-1]}" if lines else ""
        raise UserError(f"running {target}{where} raised {type(err).__name__}: {err}") from None
    finally:
        sys.path.pop(0)
    return module


def functions_of(module, name: str | None) -> list:
    if name is not None:
        fn = getattr(module, name, None)
        if fn is None or not callable(fn):
            raise UserError(
                f"{module.__name__.replace('_s2sad_cli_', '')} has no function {name!r}"
            )
        return [fn]
    found = [
        fn
        for fn in vars(module).values()
        if inspect.isfunction(fn)
        and fn.__module__ == module.__name__
        and not fn.__name__.startswith("_")
    ]
    if not found:
        raise UserError("no functions found; name one as FILE.py:FUNCTION")
    return found


def _wrt(values):
    if values is None:
        return None
    return tuple(int(v) if v.lstrip("-").isdigit() else v for v in values)


def point_of(fn, items: list) -> list:
    """The arguments ``--at x1=2 x2=5`` gives, in the function's order."""
    params = list(inspect.signature(fn).parameters)
    values = {}
    for item in items:
        name, equals, text = item.partition("=")
        if not equals:
            raise UsageError(f"--at {item}: write NAME=VALUE, for example x1=2")
        if name not in params:
            raise UsageError(
                f"--at {item}: {fn.__name__} has no parameter {name!r} ({', '.join(params)})"
            )
        values[name] = _value(item, text)
    missing = [p for p in params if p not in values]
    if missing:
        raise UsageError(f"--at: give a value for {', '.join(missing)}")
    return [values[p] for p in params]


def _value(item: str, text: str):
    """A number (``2``, ``0.5``), an array written as nested lists (``[[1, 2], [3, 4]]``), or a
    structure of those written as a dict or tuple (``{"W": [[1, 2]], "b": 0.5}``)."""
    if text.lstrip().startswith(("[", "{", "(")):
        try:
            return _structure(ast.literal_eval(text))
        except (ValueError, SyntaxError, TypeError):
            raise UsageError(
                f"--at {item}: {text!r} is not an array of numbers, nor a dict or tuple of them; "
                'write nested lists, for example W=[[1,2],[3,4]], or p={"W": [[1,2]], "b": 0.5}'
            ) from None
    try:
        return int(text) if text.lstrip("+-").isdigit() else float(text)
    except ValueError:
        raise UsageError(f"--at {item}: {text!r} is not a number (nor a list of numbers)") from None


def _structure(value):
    """A value ``--at`` reads: dicts and tuples are structures, lists of numbers arrays, and a
    list of dicts or tuples a list of structures."""
    if isinstance(value, dict):
        return {key: _structure(item) for key, item in value.items()}
    if isinstance(value, tuple) or (
        isinstance(value, list) and any(isinstance(item, (dict, tuple)) for item in value)
    ):
        return type(value)(_structure(item) for item in value)
    if isinstance(value, list):
        return np.array(value, dtype=float)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(value)
    return value


STRUCTURE_HINT = (
    'give its value with --at (p={"W": [[1, 2]], "b": 0.5}): the table, --check and --graph '
    "work at that point, and `s2sad export FILE.py:FUNCTION --at ...` writes its code"
)


class UsageError(Exception):
    """A command line that cannot be followed (exit code 2)."""


def render(fn, args) -> str:
    """What one function's part of the output is: its table or check with --at, its graph (written to
    a file) with --graph, and the sections asked for (all three when nothing else is)."""
    if args.check and not args.at:
        raise UsageError("--check needs a point: add --at NAME=VALUE ...")
    wrt = _wrt(args.wrt)
    point = point_of(fn, args.at) if args.at else None
    try:
        if args.graph:
            draw(graph(fn, *(point or ()), wrt=wrt), args.graph)
        elif args.check:
            return str(check_grad(fn, *point, wrt=wrt)) + "\n"
        elif point is not None:
            return str(api.explain(fn, *point, wrt=wrt)) + "\n"
    except (S2SADError, UserError):
        raise
    except Exception as err:  # running the function or its derivative at the point failed
        if point is None:
            raise
        raise UserError(
            f"{fn.__name__} at {', '.join(args.at)}: {type(err).__name__}: {err} (the function or "
            "its derivative cannot be evaluated there)"
        ) from None
    sections = args.trace or args.forward or args.reverse or args.hessian
    if args.graph and not sections:
        return ""
    parts = []
    if not sections or args.trace:
        parts.append(f"# SSA trace of {fn.__name__}\n{api.trace(fn).source}")
    if not sections or args.forward:
        parts.append(f"# forward mode\n{api.tangent_source(fn, wrt=wrt, teaching=args.teaching)}")
    if not sections or args.reverse:
        parts.append(f"# reverse mode\n{api.adjoint_source(fn, wrt=wrt, teaching=args.teaching)}")
    if args.hessian:
        parts.append(f"# second order (Hessian-vector product)\n{hvp_source(fn, wrt=wrt)}")
    return "\n\n".join(part.rstrip("\n") for part in parts) + "\n"


def draw(picture, path: str) -> None:
    """Save the graph; without Graphviz, save its DOT text beside ``path`` and say how to go on."""
    try:
        picture.save(path)
    except GraphvizNotFoundError:
        fallback = os.path.splitext(path)[0] + ".dot"
        picture.save(fallback)
        raise UserError(
            f"Graphviz's `dot` program is not on PATH, so wrote {fallback} instead of {path}: "
            f"{INSTALL_HINT}, then run this again (or `dot -T{path.rsplit('.', 1)[1]} {fallback} "
            f"-o {path}`)"
        ) from None
    print(f"s2sad: wrote {path}", file=sys.stderr)


def highlighted(text: str) -> str:
    """Python source coloured for a terminal, when pygments is installed; as it is otherwise."""
    try:
        from pygments import highlight
        from pygments.formatters import TerminalFormatter
        from pygments.lexers import PythonLexer
    except ImportError:
        return text
    return highlight(text, PythonLexer(), TerminalFormatter()).rstrip("\n")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["export"]:
        return export_main(argv[1:])
    args = _parser().parse_args(argv)
    target, _, name = args.target.partition(":")
    status = 0
    try:
        _check_graph_options(args, name)
        module = load_module(target, args.module)
        functions = functions_of(module, name or None)
    except UserError as err:
        print(f"s2sad: {err}", file=sys.stderr)
        return 1
    except UsageError as err:
        print(f"s2sad: {err}", file=sys.stderr)
        return 2
    outputs = []
    for fn in functions:
        try:
            outputs.append(render(fn, args))
        except GradientCheckError as err:
            print(f"s2sad: the check of {fn.__name__} failed: {err}", file=sys.stderr)
            status = 1
        except S2SADError as err:
            if isinstance(err, StructureNeededError):  # here, arguments are given with --at
                err = StructureNeededError(err.message, err.location, STRUCTURE_HINT)
            print(f"s2sad: cannot differentiate {fn.__name__}:\n{err}", file=sys.stderr)
            status = 1
        except UserError as err:
            print(f"s2sad: {err}", file=sys.stderr)
            status = 1
        except UsageError as err:
            print(f"s2sad: {err}", file=sys.stderr)
            return 2
    text = "\n\n".join(out.rstrip("\n") for out in outputs if out)
    if text:
        try:
            print(highlighted(text) if sys.stdout.isatty() and not args.at else text, flush=True)
        except BrokenPipeError:  # the reader (`| head`) has gone: stop quietly, as Unix tools do
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return status


def _check_graph_options(args, name: str) -> None:
    if not args.graph:
        return
    if os.path.splitext(args.graph)[1].lower() not in FORMATS:
        raise UsageError(f"--graph {args.graph}: name a file ending in {', '.join(FORMATS)}")
    if args.check:
        raise UsageError("--graph and --check do not go together: run them one at a time")
    if not name:
        raise UsageError("--graph draws one function: name it as FILE.py:FUNCTION")


def export_main(argv: list) -> int:
    """``s2sad export TARGET [-o OUT.py]``: the derivatives as a module that runs without s2sad."""
    args = _export_parser().parse_args(argv)
    target, _, name = args.target.partition(":")
    try:
        if args.output and not args.output.endswith(".py"):
            raise UsageError(f"-o {args.output}: the exported module is Python; name it NAME.py")
        module = load_module(target, args.module)
        functions = functions_of(module, name or None)
        source = getattr(module, "__file__", None)
        exists = source and args.output and os.path.exists(args.output)
        if exists and os.path.samefile(args.output, source):
            raise UsageError(f"-o {args.output} would overwrite the source; choose another name")
        importable = target if args.module else os.path.splitext(os.path.basename(target))[0]
        example = None
        if args.at:
            if len(functions) != 1:
                raise UsageError("--at gives the arguments of one function: name it as FILE.py:F")
            example = tuple(point_of(functions[0], args.at))
        text = export_source(
            functions, _wrt(args.wrt), args.teaching, importable, target, args=example
        )
    except UserError as err:
        print(f"s2sad: {err}", file=sys.stderr)
        return 1
    except UsageError as err:
        print(f"s2sad export: {err}", file=sys.stderr)
        return 2
    except S2SADError as err:
        print(f"s2sad: cannot export:\n{err}", file=sys.stderr)
        return 1
    if args.output is None:
        print(text, end="")
        return 0
    with open(args.output, "w", encoding="utf-8") as out:
        out.write(text)
    print(f"s2sad: wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
