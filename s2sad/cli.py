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
import os
import sys

from . import __version__, api
from .check import GradientCheckError, check_grad
from .cli_points import UsageError, inputs_at, point_of
from .cli_targets import UserError, functions_of, load_module
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
    parser.add_argument(
        "target", nargs="?", help="FILE.py[:FUNCTION], or MODULE[:FUNCTION] with -m"
    )
    parser.add_argument(
        "-m", dest="module", action="store_true", help="TARGET names an importable module"
    )
    parser.add_argument("--version", action="version", version=f"s2sad {__version__}")
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
        'structure as a dict or tuple (p={"W": [[1,2]], "b": 0.5}) or a dataclass of the module '
        "(p=Params(W=[[1,2]], b=0.5))",
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


def _wrt(values):
    if values is None:
        return None
    return tuple(int(v) if v.lstrip("-").isdigit() else v for v in values)


STRUCTURE_HINT = (
    'give its value with --at (p={"W": [[1, 2]], "b": 0.5}, or p=Params(W=[[1, 2]], b=0.5) for a '
    "dataclass or named tuple of the module): the table, --check and --graph work at that point, "
    "and `s2sad export FILE.py:FUNCTION --at ...` writes its code"
)


def render(fn, args) -> str:
    """What one function's part of the output is: the code sections asked for (all but the
    Hessian's when neither they nor a point nor a graph are), then, at ``--at``'s point, its
    check with ``--check`` or its table, and its graph (written to a file) with ``--graph``."""
    wrt = _wrt(args.wrt)
    parts = []
    sections = args.trace or args.forward or args.reverse or args.hessian
    code = sections or not (args.at or args.graph)
    if code and (args.trace or not sections):
        parts.append(f"# SSA trace of {fn.__name__}\n{api.trace(fn).source}")
    if code and (args.forward or not sections):
        parts.append(f"# forward mode\n{api.tangent_source(fn, wrt=wrt, teaching=args.teaching)}")
    if code and (args.reverse or not sections):
        parts.append(f"# reverse mode\n{api.adjoint_source(fn, wrt=wrt, teaching=args.teaching)}")
    if args.hessian:
        parts.append(f"# second order (Hessian-vector product)\n{hvp_source(fn, wrt=wrt)}")
    point, given = point_of(fn, args.at) if args.at else (None, ())
    try:
        if point is not None and wrt is None:
            wrt = inputs_at(fn, point, given, args.check)
        if args.graph:
            draw(graph(fn, *(point or ()), wrt=wrt), args.graph)
        elif args.check:
            parts.append(str(check_grad(fn, *point, wrt=wrt)))
        elif point is not None:
            parts.append(str(api.explain(fn, *point, wrt=wrt)))
    except (S2SADError, UserError, UsageError):
        raise
    except Exception as err:  # running the function or its derivative at the point failed
        if point is None:
            raise
        raise UserError(
            f"{fn.__name__} at {', '.join(args.at)}: {type(err).__name__}: {err} (the function or "
            "its derivative cannot be evaluated there)"
        ) from None
    return "\n\n".join(part.rstrip("\n") for part in parts) + "\n" if parts else ""


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
    """Python source coloured for a terminal, when pygments is installed and the environment does
    not ask for no colour (``NO_COLOR``, https://no-color.org); as it is otherwise."""
    if os.environ.get("NO_COLOR"):
        return text
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
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        _take_target(args)
        target, _, name = args.target.partition(":")
        _check_options(args, name)
        module = load_module(target, args.module)
        functions = functions_of(module, name or None)
    except UserError as err:
        print(f"s2sad: {err}", file=sys.stderr)
        return 1
    except UsageError as err:
        print(f"s2sad: {err}", file=sys.stderr)
        return 2
    outputs, skipped, status = [], [], 0
    for fn in functions:
        try:
            outputs.append(render(fn, args))
        except GradientCheckError as err:
            print(f"s2sad: the check of {fn.__name__} failed: {err}", file=sys.stderr)
            status = 1
        except S2SADError as err:
            if not name:  # a whole file: show what can be shown, and say what was not and why
                needs = isinstance(err, StructureNeededError)  # shown once its arguments are given
                advice = f" (give them: {target}:{fn.__name__} --at ...)" if needs else ""
                skipped.append(f"  {fn.__name__}{_where(err)}: {err.message}{advice}")
                continue
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
    if skipped:
        shown = len(functions) - len(skipped)
        print(
            f"s2sad: skipped {len(skipped)} of {len(functions)} functions, which s2sad cannot "
            "differentiate as they are (name one as FILE.py:FUNCTION for the whole message):\n"
            + "\n".join(skipped),
            file=sys.stderr,
        )
        if not shown:
            status = 1
    return status


def _where(err: S2SADError) -> str:
    """`` (line 25)``: where in its file the problem a skipped function has is."""
    return f" (line {err.location.line})" if err.location is not None else ""


def _take_target(args) -> None:
    """Find the target where ``--at`` or ``--wrt``, written before it, took it as one of theirs:
    it is the item that is not ``NAME=VALUE`` (nor a parameter's name or position)."""
    stray = [item for item in args.at or () if "=" not in item]
    if args.target is None and args.wrt and not stray:
        stray = [item for item in args.wrt[-1:] if not item.isidentifier() and not _position(item)]
    if args.target is None and len(stray) == 1:
        args.target = stray[0]
        if args.at and stray[0] in args.at:
            args.at.remove(stray[0])
        else:
            args.wrt.remove(stray[0])
    if args.target is None:
        raise UsageError(
            "name the function: s2sad FILE.py[:FUNCTION] [options] (write the target before "
            "--at and --wrt, which take several values)"
        )
    for item in stray:
        if item != args.target:
            raise UsageError(f"--at {item}: write NAME=VALUE, for example x1=2")
    if args.at == []:
        raise UsageError("--at: give NAME=VALUE for the function's parameters")
    if args.wrt == []:
        raise UsageError("--wrt: name the parameters to differentiate with respect to")


def _position(item: str) -> bool:
    return item.lstrip("-").isdigit()


def _check_options(args, name: str) -> None:
    """Refuse the combinations of options that cannot be followed, saying why."""
    if args.graph:
        if os.path.splitext(args.graph)[1].lower() not in FORMATS:
            raise UsageError(f"--graph {args.graph}: name a file ending in {', '.join(FORMATS)}")
        if args.check:
            raise UsageError("--graph and --check do not go together: run them one at a time")
        if not name:
            raise UsageError("--graph draws one function: name it as FILE.py:FUNCTION")
    if args.check and not args.at:
        raise UsageError("--check needs a point: add --at NAME=VALUE ...")
    if (args.at or args.check) and not name:
        raise UsageError("--at gives the arguments of one function: name it as FILE.py:FUNCTION")
    if args.hessian and args.teaching:
        raise UsageError(
            "--teaching keeps the steps of --forward and --reverse code; the Hessian-vector "
            "product code has no teaching form: run --hessian without --teaching"
        )
    code = args.trace or args.forward or args.reverse or args.hessian
    if args.teaching and not (args.forward or args.reverse) and (code or args.at or args.graph):
        raise UsageError(
            "--teaching changes the code --forward and --reverse print: add one of them "
            "(the table of --at and the graph always show every step)"
        )


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
            example = tuple(point_of(functions[0], args.at)[0])
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
