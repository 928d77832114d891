"""Command line: print the trace, tangent and adjoint of functions in a file or module.

    s2sad samples/lecture.py:seed000_y          one function
    s2sad samples/lecture.py                    every function defined in the file
    s2sad -m package.module:function --reverse  a function from an importable module
    s2sad samples/lecture.py:seed000_y --at x1=2 x2=5   the table of the notes at a point
    s2sad samples/lecture.py:seed000_y --check --at x1=2 x2=5   both modes against finite differences

Exit codes: 0 ok, 1 a problem with the user's program or file, 2 a usage error.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import os
import sys

from . import api
from .check import GradientCheckError, check_grad
from .errors import S2SADError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="s2sad",
        description="Print the SSA trace and the generated tangent and adjoint code of Python functions.",
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
        "--wrt", nargs="+", metavar="PARAM", help="differentiate w.r.t. these (positions or names)"
    )
    parser.add_argument(
        "--teaching", action="store_true", help="keep every step as the lecture notes write it"
    )
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
        "tangents and adjoint",
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
        try:
            values[name] = int(text) if text.lstrip("+-").isdigit() else float(text)
        except ValueError:
            raise UsageError(f"--at {item}: {text!r} is not a number") from None
    missing = [p for p in params if p not in values]
    if missing:
        raise UsageError(f"--at: give a value for {', '.join(missing)}")
    return [values[p] for p in params]


class UsageError(Exception):
    """A command line that cannot be followed (exit code 2)."""


def render(fn, args) -> str:
    """The sections asked for (all three by default) for one function, and its table with --at."""
    if args.check and not args.at:
        raise UsageError("--check needs a point: add --at NAME=VALUE ...")
    if args.at and args.check:
        return str(check_grad(fn, *point_of(fn, args.at), wrt=_wrt(args.wrt))) + "\n"
    if args.at:
        return str(api.explain(fn, *point_of(fn, args.at), wrt=_wrt(args.wrt))) + "\n"
    everything = not (args.trace or args.forward or args.reverse)
    wrt = _wrt(args.wrt)
    parts = []
    if everything or args.trace:
        parts.append(f"# SSA trace of {fn.__name__}\n{api.trace(fn).source}")
    if everything or args.forward:
        parts.append(f"# forward mode\n{api.tangent_source(fn, wrt=wrt, teaching=args.teaching)}")
    if everything or args.reverse:
        parts.append(f"# reverse mode\n{api.adjoint_source(fn, wrt=wrt, teaching=args.teaching)}")
    return "\n\n".join(part.rstrip("\n") for part in parts) + "\n"


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
    args = _parser().parse_args(argv)
    target, _, name = args.target.partition(":")
    status = 0
    try:
        module = load_module(target, args.module)
        functions = functions_of(module, name or None)
    except UserError as err:
        print(f"s2sad: {err}", file=sys.stderr)
        return 1
    outputs = []
    for fn in functions:
        try:
            outputs.append(render(fn, args))
        except GradientCheckError as err:
            print(f"s2sad: the check of {fn.__name__} failed: {err}", file=sys.stderr)
            status = 1
        except S2SADError as err:
            print(f"s2sad: cannot differentiate {fn.__name__}:\n{err}", file=sys.stderr)
            status = 1
        except UsageError as err:
            print(f"s2sad: {err}", file=sys.stderr)
            return 2
    if outputs:
        text = "\n\n".join(out.rstrip("\n") for out in outputs)
        try:
            print(highlighted(text) if sys.stdout.isatty() and not args.at else text, flush=True)
        except BrokenPipeError:  # the reader (`| head`) has gone: stop quietly, as Unix tools do
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
